"""Read side: lists and single resources, always scoped to the caller's territory (through the
registry projection, which gives each CPTS its region and département)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from cpts_funding import views
from cpts_funding.api import schemas
from cpts_funding.domain.categories import FunderCategory
from cpts_funding.domain.envelope import Envelope
from cpts_funding.domain.flows import FlowKind
from cpts_funding.domain.levers import PolicyLevers
from cpts_funding.domain.missions import Mission, Part
from cpts_funding.domain.schedule import due_by, payment_schedule
from cpts_funding.storage.inputs import parameter_versions, policy_levers
from cpts_funding.storage.models import Declaration, Flow, Funder, Reallocation, RegistryCpts
from cpts_kit.auth import Principal
from cpts_kit.money import as_cents, from_cents, sum_cents
from cpts_kit.pagination import PageParams
from cpts_kit.problems import not_found


def scope(principal: Principal) -> ColumnElement[bool]:
    return principal.scope_clause(
        region=RegistryCpts.region, departement=RegistryCpts.departement, cpts_id=RegistryCpts.cpts_id
    )


def paid_cents() -> ColumnElement[int]:
    """A flow's effect on the money received, in cents: payments add, recoveries take back."""
    amount = as_cents(Flow.amount)
    return case((Flow.kind == FlowKind.PAYMENT.value, amount), (Flow.kind == FlowKind.RECOVERY.value, -amount), else_=0)


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
        found: list[ColumnElement[bool]] = []
        for column, value in (
            (Flow.cpts_id, self.cpts_id),
            (Flow.funder_id, self.funder_id),
            (Flow.funder_category, self.funder_category),
            (Flow.kind, self.kind),
            (Flow.fiscal_year, self.fiscal_year),
            (Flow.mission, self.mission),
            (Flow.part, self.part),
            (RegistryCpts.region, self.region),
            (RegistryCpts.departement, self.departement),
        ):
            if value is not None:
                found.append(column == (value.value if hasattr(value, "value") else value))
        return found


def flows_query(principal: Principal, filters: FlowFilters) -> Select[Flow, RegistryCpts, str]:
    reversal = aliased(Flow)
    return (
        select(Flow, RegistryCpts, reversal.id)
        .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
        .outerjoin(reversal, reversal.reverses == Flow.id)
        .where(scope(principal), *filters.conditions())
    )


async def list_flows(
    session: AsyncSession, principal: Principal, filters: FlowFilters, page: PageParams
) -> tuple[list[schemas.FlowView], int]:
    total = await session.scalar(
        select(func.count())
        .select_from(Flow)
        .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
        .where(scope(principal), *filters.conditions())
    )
    rows = await session.execute(
        flows_query(principal, filters).order_by(Flow.seq).limit(page.limit).offset(page.offset)
    )
    return [views.flow_view(flow, cpts, reversed_by) for flow, cpts, reversed_by in rows], int(total or 0)


async def get_flow(session: AsyncSession, principal: Principal, flow_id: str) -> schemas.FlowView:
    row = (await session.execute(flows_query(principal, FlowFilters()).where(Flow.id == flow_id))).first()
    if row is None:
        raise not_found("Flow", flow_id)
    flow, cpts, reversed_by = row
    return views.flow_view(flow, cpts, reversed_by)


# --- declarations ------------------------------------------------------------------------


async def list_declarations(
    session: AsyncSession,
    principal: Principal,
    page: PageParams,
    cpts_id: str | None,
    fiscal_year: int | None,
    latest_only: bool,
) -> tuple[list[schemas.DeclarationView], int]:
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
    return [views.declaration_view(d, c) for d, c in rows], int(total or 0)


async def get_declaration(session: AsyncSession, principal: Principal, declaration_id: str) -> schemas.DeclarationView:
    row = (
        await session.execute(
            select(Declaration, RegistryCpts)
            .join(RegistryCpts, RegistryCpts.cpts_id == Declaration.cpts_id)
            .where(Declaration.id == declaration_id, scope(principal))
        )
    ).first()
    if row is None:
        raise not_found("Declaration", declaration_id)
    return views.declaration_view(*row)


# --- envelopes and schedules -------------------------------------------------------------


async def aci_paid_by_mission(session: AsyncSession, cpts_id: str, year: int) -> dict[Mission, Decimal]:
    rows = await session.execute(
        select(Flow.mission, sum_cents(paid_cents()))
        .where(Flow.cpts_id == cpts_id, Flow.fiscal_year == year, Flow.funder_category == FunderCategory.ACI.value)
        .group_by(Flow.mission)
    )
    return {Mission(mission): from_cents(cents) for mission, cents in rows}


async def envelope_view(session: AsyncSession, envelope: Envelope, cpts: RegistryCpts) -> schemas.EnvelopeView:
    return views.envelope_view(envelope, cpts, await aci_paid_by_mission(session, cpts.cpts_id, envelope.year))


async def schedule_view(
    session: AsyncSession, envelope: Envelope, cpts: RegistryCpts, as_of: date
) -> schemas.ScheduleView:
    dues = payment_schedule(envelope, cpts.aci_signed_on)
    paid = sum((await aci_paid_by_mission(session, cpts.cpts_id, envelope.year)).values(), Decimal("0.00"))
    due = due_by(dues, as_of)
    return schemas.ScheduleView(
        cpts_id=cpts.cpts_id,
        year=envelope.year,
        illustrative=envelope.parameters.illustrative,
        as_of=as_of,
        instalments=[
            schemas.DueView(
                due_on=d.due_on, mission=d.mission, part=d.part, instalment=d.instalment.value, amount=d.amount
            )
            for d in dues
        ],
        total=sum((d.amount for d in dues), Decimal("0.00")),
        due_as_of=due,
        paid=paid,
        outstanding_as_of=due - paid,
    )


# --- reallocations -----------------------------------------------------------------------


async def list_reallocations(
    session: AsyncSession, principal: Principal, page: PageParams, cpts_id: str | None, year: int | None
) -> tuple[list[schemas.ReallocationView], int]:
    conditions = [scope(principal)]
    if cpts_id is not None:
        conditions.append(Reallocation.cpts_id == cpts_id)
    if year is not None:
        conditions.append(Reallocation.year == year)
    joined = select(Reallocation).join(RegistryCpts, RegistryCpts.cpts_id == Reallocation.cpts_id).where(*conditions)
    total = await session.scalar(select(func.count()).select_from(joined.subquery()))
    rows = await session.scalars(joined.order_by(Reallocation.seq).limit(page.limit).offset(page.offset))
    return [views.reallocation_view(r) for r in rows], int(total or 0)


async def get_reallocation(
    session: AsyncSession, principal: Principal, reallocation_id: str
) -> schemas.ReallocationView:
    row = await session.scalar(
        select(Reallocation)
        .join(RegistryCpts, RegistryCpts.cpts_id == Reallocation.cpts_id)
        .where(Reallocation.id == reallocation_id, scope(principal))
    )
    if row is None:
        raise not_found("Reallocation", reallocation_id)
    return views.reallocation_view(row)


# --- parameters --------------------------------------------------------------------------


async def policy_view(session: AsyncSession, year: int) -> schemas.PolicyView:
    levers: PolicyLevers = (await policy_levers(session, [year]))[year]
    used = from_cents(
        await session.scalar(
            select(sum_cents(as_cents(Reallocation.amount))).where(
                Reallocation.year == year, Reallocation.accepted.is_(True)
            )
        )
    )
    is_set = bool(
        levers.functioning_reduction
        or levers.variable_share is not None
        or levers.fungibility_share is not None
        or levers.fungibility_national_cap is not None
    )
    return schemas.PolicyView(
        year=year,
        functioning_reduction=[
            schemas.ReductionStepIn(from_maturity=s.from_maturity, reduction=s.reduction)
            for s in levers.functioning_reduction
        ],
        variable_share=levers.variable_share,
        fungibility_share=levers.fungibility_share,
        fungibility_national_cap=levers.fungibility_national_cap,
        fungibility_used=used,
        set=is_set,
    )


async def aci_versions(session: AsyncSession) -> list[schemas.AciVersionView]:
    return [views.aci_version_view(v) for v in await parameter_versions(session)]
