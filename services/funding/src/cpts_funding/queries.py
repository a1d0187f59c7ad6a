"""Read side: lists and single resources, always scoped to the caller's territory (through the
registry projection, which gives each CPTS its region and département)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Row, Select, bindparam, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import aliased

from cpts_funding.domain.categories import FunderCategory
from cpts_funding.domain.envelope import Envelope
from cpts_funding.domain.flows import FlowKind
from cpts_funding.domain.levers import PolicyLevers
from cpts_funding.domain.missions import Part
from cpts_funding.domain.schedule import Due, due_by, payment_schedule
from cpts_funding.domain.signatories import AciBasis
from cpts_funding.storage.inputs import policy_levers
from cpts_funding.storage.models import (
    ContractMission,
    Declaration,
    Flow,
    Funder,
    PolicyVersion,
    Reallocation,
    RegistryCpts,
)
from cpts_kit.auth import Principal
from cpts_kit.missions import Mission
from cpts_kit.money import as_cents, from_cents, sum_cents
from cpts_kit.pagination import PageParams
from cpts_kit.problems import not_found
from cpts_kit.readcache import ReadCache


def scope(principal: Principal) -> ColumnElement[bool]:
    return principal.scope_clause(
        region=RegistryCpts.region, departement=RegistryCpts.departement, cpts_id=RegistryCpts.cpts_id
    )


def paid_cents() -> ColumnElement[int]:
    """A flow's effect on the money received, in cents: payments add, recoveries take back."""
    amount = as_cents(Flow.amount)
    return case((Flow.kind == FlowKind.PAYMENT.value, amount), (Flow.kind == FlowKind.RECOVERY.value, -amount), else_=0)


def envelope_money() -> ColumnElement[bool]:
    """ACI money paid against an envelope: not the lettre d'intention lump sum, which avenant 2
    pays before the contract, outside any envelope."""
    return or_(Flow.aci_basis.is_(None), Flow.aci_basis != AciBasis.INTENTION_LETTER_LUMP_SUM.value)


def kind_cents(kind: FlowKind) -> ColumnElement[int]:
    return case((Flow.kind == kind.value, as_cents(Flow.amount)), else_=0)


# --- funders -----------------------------------------------------------------------------


async def list_funders(
    session: AsyncSession, page: PageParams, category: FunderCategory | None, name: str | None, siren: str | None
) -> tuple[Sequence[Funder], int]:
    conditions: list[ColumnElement[bool]] = []
    if category is not None:
        conditions.append(Funder.category == category.value)
    if name:
        conditions.append(func.lower(Funder.name).contains(name.lower(), autoescape=True))
    if siren:
        conditions.append(Funder.siren == siren)
    total = await session.scalar(select(func.count()).select_from(Funder).where(*conditions))
    rows = await session.scalars(
        select(Funder).where(*conditions).order_by(Funder.name, Funder.id).limit(page.limit).offset(page.offset)
    )
    return rows.all(), int(total or 0)


async def get_funder(session: AsyncSession, funder_id: str) -> Funder:
    funder = await session.get(Funder, funder_id)
    if funder is None:
        raise not_found("Funder", funder_id)
    return funder


# --- flows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowFilters:
    cpts_id: str | None = None
    funder_id: str | None = None
    funder_category: FunderCategory | None = None
    kind: FlowKind | None = None
    fiscal_year: int | None = None
    mission: Mission | None = None
    part: Part | None = None
    region: str | None = None
    departement: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        return [*self.flow_conditions(), *self.territory_conditions()]

    def flow_conditions(self) -> list[ColumnElement[bool]]:
        """The conditions on the flows' own columns."""
        return _equal(
            (Flow.cpts_id, self.cpts_id),
            (Flow.funder_id, self.funder_id),
            (Flow.funder_category, self.funder_category),
            (Flow.kind, self.kind),
            (Flow.fiscal_year, self.fiscal_year),
            (Flow.mission, self.mission),
            (Flow.part, self.part),
        )

    def territory_conditions(self) -> list[ColumnElement[bool]]:
        """The conditions on the flows' CPTS (the registry projection)."""
        return _equal((RegistryCpts.region, self.region), (RegistryCpts.departement, self.departement))


def _equal(*pairs: tuple[Any, object]) -> list[ColumnElement[bool]]:
    return [
        column == (value.value if hasattr(value, "value") else value) for column, value in pairs if value is not None
    ]


def flows_query(principal: Principal, filters: FlowFilters) -> Select[Flow, RegistryCpts, str]:
    """Flows as ORM objects with their CPTS (the CSV export, the commands)."""
    reversal = aliased(Flow)
    return (
        select(Flow, RegistryCpts, reversal.id)
        .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
        .outerjoin(reversal, reversal.reverses == Flow.id)
        .where(scope(principal), *filters.conditions())
    )


@dataclass(frozen=True)
class FlowRecord:
    """A flow as its view shows it: its columns, its CPTS's names and place, its funder's name
    and the reversal that corrected it, if any."""

    id: str
    seq: int
    kind: str
    cpts_id: str
    cpts_name: str
    region: str
    departement: str
    funder_id: str
    funder_name: str
    funder_category: str
    fiscal_year: int
    mission: str
    part: str
    amount: Decimal
    date: dt.date
    funder_reference: str
    reverses: str | None
    aci_basis: str | None
    reversed_by: str | None
    note: str | None
    recorded_at: dt.datetime
    recorded_by: str


_REVERSAL = aliased(Flow)
# The columns of ``FlowRecord``, in its order (selected, not hydrated into ORM objects: a
# page of 50 flows with their CPTS and funders cost more in the ORM than in the database).
_RECORD_COLUMNS = (
    Flow.id,
    Flow.seq,
    Flow.kind,
    Flow.cpts_id,
    RegistryCpts.name,
    RegistryCpts.region,
    RegistryCpts.departement,
    Flow.funder_id,
    Funder.name,
    Flow.funder_category,
    Flow.fiscal_year,
    Flow.mission,
    Flow.part,
    Flow.amount,
    Flow.flow_date,
    Flow.funder_reference,
    Flow.reverses,
    Flow.aci_basis,
    _REVERSAL.id,
    Flow.note,
    Flow.recorded_at,
    Flow.recorded_by,
)


def _flow_record(row: Row[Any]) -> FlowRecord:
    return FlowRecord(*row)  # type: ignore[call-arg]


def flow_records(principal: Principal, filters: FlowFilters) -> Select[*tuple[Any, ...]]:
    return (
        select(*_RECORD_COLUMNS)
        .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
        .join(Funder, Funder.id == Flow.funder_id)
        .outerjoin(_REVERSAL, _REVERSAL.reverses == Flow.id)
        .where(scope(principal), *filters.conditions())
    )


def count_flows(principal: Principal, filters: FlowFilters) -> Select[int]:
    """The flows of the list, counted. The CPTS's territory is a filter on the flows' CPTS
    (one index range per CPTS) rather than a join (one projection lookup per flow: 45 ms for
    the 53,000 flows of the demo on SQLite, against 13 ms); ``cpts_id`` is the projection's
    key, so both count the same flows."""
    visible = select(RegistryCpts.cpts_id).where(scope(principal), *filters.territory_conditions())
    return select(func.count()).select_from(Flow).where(Flow.cpts_id.in_(visible), *filters.flow_conditions())


@lru_cache(maxsize=256)
def _page_of_flows(territory: Principal, filters: FlowFilters) -> Select[*tuple[Any, ...]]:
    """The statement of a page, built once per territory and filters: a statement built anew
    costs SQLAlchemy its cache key and the matching of its result columns to the cached ones
    (a fifth of a page's CPU under load)."""
    return (
        flow_records(territory, filters)
        .order_by(Flow.seq)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )


async def list_flows(
    reader: AsyncConnection, principal: Principal, filters: FlowFilters, page: PageParams, cache: ReadCache
) -> tuple[list[FlowRecord], int]:
    """A page of flows in recording order, and how many the filters give in all (counting is
    most of a page's cost: the count is kept in ``cache`` until the next write)."""
    statement = _page_of_flows(replace(principal, subject=""), filters)
    rows = await reader.execute(statement, {"limit": page.limit, "offset": page.offset})
    records = [_flow_record(row) for row in rows]

    async def count() -> int:
        return int(await reader.scalar(count_flows(principal, filters)) or 0)

    total = await cache.get(("flows-total", principal.scope_key, filters), count)
    return records, total


async def get_flow(connection: AsyncConnection, principal: Principal, flow_id: str) -> FlowRecord:
    """One flow: on a reader, or on a writer session's connection (a flow it just recorded)."""
    row = (await connection.execute(flow_records(principal, FlowFilters()).where(Flow.id == flow_id))).first()
    if row is None:
        raise not_found("Flow", flow_id)
    return _flow_record(row)


# --- declarations ------------------------------------------------------------------------


async def list_declarations(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    cpts_id: str | None,
    fiscal_year: int | None,
    latest_only: bool,
) -> tuple[list[tuple[Declaration, RegistryCpts]], int]:
    conditions = [scope(principal)]
    if cpts_id is not None:
        conditions.append(Declaration.cpts_id == cpts_id)
    if fiscal_year is not None:
        conditions.append(Declaration.fiscal_year == fiscal_year)
    if latest_only:
        newer = aliased(Declaration)
        conditions.append(
            ~select(newer.id)
            .where(
                newer.cpts_id == Declaration.cpts_id,
                newer.fiscal_year == Declaration.fiscal_year,
                newer.version > Declaration.version,
            )
            .exists()
        )
    base = select(Declaration, RegistryCpts).join(RegistryCpts, RegistryCpts.cpts_id == Declaration.cpts_id)
    total = await session.scalar(
        select(func.count())
        .select_from(Declaration)
        .join(RegistryCpts, RegistryCpts.cpts_id == Declaration.cpts_id)
        .where(*conditions)
    )
    rows = await session.execute(
        base.where(*conditions)
        .order_by(Declaration.fiscal_year, Declaration.cpts_id, Declaration.version)
        .limit(page.limit)
        .offset(page.offset)
    )
    return [(d, c) for d, c in rows], int(total or 0)


async def get_declaration(
    session: AsyncSession, principal: Principal, declaration_id: str
) -> tuple[Declaration, RegistryCpts]:
    row = (
        await session.execute(
            select(Declaration, RegistryCpts)
            .join(RegistryCpts, RegistryCpts.cpts_id == Declaration.cpts_id)
            .where(Declaration.id == declaration_id, scope(principal))
        )
    ).first()
    if row is None:
        raise not_found("Declaration", declaration_id)
    declaration, cpts = row
    return declaration, cpts


# --- envelopes and schedules -------------------------------------------------------------


async def aci_paid_by_mission(session: AsyncSession, cpts_id: str, year: int) -> dict[Mission, Decimal]:
    rows = await session.execute(
        select(Flow.mission, sum_cents(paid_cents()))
        .where(
            Flow.cpts_id == cpts_id,
            Flow.fiscal_year == year,
            Flow.funder_category == FunderCategory.ACI.value,
            envelope_money(),
        )
        .group_by(Flow.mission)
    )
    return {Mission(mission): from_cents(cents) for mission, cents in rows}


@dataclass(frozen=True)
class Schedule:
    cpts_id: str
    year: int
    illustrative: bool
    as_of: date
    instalments: list[Due]
    total: Decimal
    due_as_of: Decimal
    paid: Decimal
    outstanding_as_of: Decimal


async def schedule_of(session: AsyncSession, envelope: Envelope, cpts: RegistryCpts, as_of: date) -> Schedule:
    starts = {Mission(r.mission): r.starts_on for r in await contract_of(session, cpts.cpts_id)}
    dues = payment_schedule(envelope, cpts.aci_signed_on, starts)
    paid = sum((await aci_paid_by_mission(session, cpts.cpts_id, envelope.year)).values(), Decimal("0.00"))
    due = due_by(dues, as_of)
    return Schedule(
        cpts_id=cpts.cpts_id,
        year=envelope.year,
        illustrative=envelope.parameters.illustrative,
        as_of=as_of,
        instalments=dues,
        total=sum((d.amount for d in dues), Decimal("0.00")),
        due_as_of=due,
        paid=paid,
        outstanding_as_of=due - paid,
    )


async def contract_of(session: AsyncSession, cpts_id: str) -> list[ContractMission]:
    rows = await session.scalars(select(ContractMission).where(ContractMission.cpts_id == cpts_id))
    order = list(Mission)
    return sorted(rows, key=lambda r: order.index(Mission(r.mission)))


# --- reallocations -----------------------------------------------------------------------


async def list_reallocations(
    session: AsyncSession, principal: Principal, page: PageParams, cpts_id: str | None, year: int | None
) -> tuple[list[Reallocation], int]:
    conditions = [scope(principal)]
    if cpts_id is not None:
        conditions.append(Reallocation.cpts_id == cpts_id)
    if year is not None:
        conditions.append(Reallocation.year == year)
    joined = select(Reallocation).join(RegistryCpts, RegistryCpts.cpts_id == Reallocation.cpts_id).where(*conditions)
    total = await session.scalar(select(func.count()).select_from(joined.subquery()))
    rows = await session.scalars(joined.order_by(Reallocation.seq).limit(page.limit).offset(page.offset))
    return list(rows), int(total or 0)


async def get_reallocation(session: AsyncSession, principal: Principal, reallocation_id: str) -> Reallocation:
    row = await session.scalar(
        select(Reallocation)
        .join(RegistryCpts, RegistryCpts.cpts_id == Reallocation.cpts_id)
        .where(Reallocation.id == reallocation_id, scope(principal))
    )
    if row is None:
        raise not_found("Reallocation", reallocation_id)
    return row


# --- parameters --------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    levers: PolicyLevers
    version: int  # 0: never set
    fungibility_used: Decimal
    closed: bool
    history: list[PolicyVersion]


async def policy_of(session: AsyncSession, year: int) -> Policy:
    levers: PolicyLevers = (await policy_levers(session, [year]))[year]
    used = from_cents(
        await session.scalar(
            select(sum_cents(as_cents(Reallocation.amount))).where(
                Reallocation.year == year, Reallocation.accepted.is_(True)
            )
        )
    )
    history = (
        await session.scalars(select(PolicyVersion).where(PolicyVersion.year == year).order_by(PolicyVersion.version))
    ).all()
    return Policy(levers, len(history), used, await year_closed(session, year), list(history))


async def year_closed(session: AsyncSession, year: int) -> bool:
    """A year is closed once ACI money of that fiscal year was paid: its levers then shaped
    envelopes already paid, and history is not rewritten."""
    paid = await session.scalar(
        select(Flow.id)
        .where(
            Flow.fiscal_year == year,
            Flow.funder_category == FunderCategory.ACI.value,
            Flow.kind == FlowKind.PAYMENT.value,
        )
        .limit(1)
    )
    return paid is not None
