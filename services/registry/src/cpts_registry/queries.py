"""Read side of the registry: one CPTS, filtered lists and coverage, always scoped to the
caller. Reads select the columns an answer shows (no ORM objects to hydrate) and return this
module's records; the routers shape them into the HTTP answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Row, Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from cpts_kit.auth import Principal, Role
from cpts_kit.db import json_rows
from cpts_kit.pagination import PageParams
from cpts_kit.problems import Problem, not_found
from cpts_registry.domain.coverage import Coverage, CoverageLevel, compute_coverage
from cpts_registry.domain.lifecycle import ACTIVE, Status
from cpts_registry.domain.tiers import SizeTier
from cpts_registry.refdata import Commune, load_reference
from cpts_registry.storage.models import Cpts, StatusChange, TerritoryCommune


@dataclass(frozen=True)
class CptsRecord:
    """The identity and status columns of a CPTS, as lists and details show them."""

    id: str
    name: str
    siren: str
    siret: str | None
    finess: str | None
    legal_form: str
    region: str
    departement: str
    attachment_cpam: str
    status: str
    status_since: date
    aci_signed_on: date | None
    population: int
    size_tier: str
    version: int


# The columns of ``CptsRecord``, in its order.
_RECORD_COLUMNS = (
    Cpts.id,
    Cpts.name,
    Cpts.siren,
    Cpts.siret,
    Cpts.finess,
    Cpts.legal_form,
    Cpts.region,
    Cpts.departement,
    Cpts.attachment_cpam,
    Cpts.status,
    Cpts.status_since,
    Cpts.aci_signed_on,
    Cpts.population,
    Cpts.size_tier,
    Cpts.version,
)


@dataclass(frozen=True)
class StatusRecord:
    status: str
    effective_date: date
    reason: str | None


@dataclass(frozen=True)
class CptsDetailRecord:
    cpts: CptsRecord
    communes: list[str]
    history: list[StatusRecord]


def _record(row: Row[tuple[object, ...]] | Sequence[object]) -> CptsRecord:
    return CptsRecord(*row[: len(_RECORD_COLUMNS)])  # type: ignore[arg-type]


@dataclass(frozen=True)
class CptsFilters:
    region: str | None = None
    departement: str | None = None
    status: Status | None = None
    size_tier: SizeTier | None = None
    siren: str | None = None
    name: str | None = None


def _scope(principal: Principal) -> ColumnElement[bool]:
    return principal.scope_clause(region=Cpts.region, departement=Cpts.departement, cpts_id=Cpts.id)


# One statement for a detail: the CPTS, its communes and its history (one round trip, one
# snapshot), built once so that SQLAlchemy keeps its compiled form and cache key (the
# territory is checked on the row, with the rule the lists apply in SQL).
_DETAIL = select(
    *_RECORD_COLUMNS,
    select(json_rows(TerritoryCommune.commune)).where(TerritoryCommune.cpts_id == Cpts.id).scalar_subquery(),
    select(json_rows(StatusChange.seq, StatusChange.status, StatusChange.effective_date, StatusChange.reason))
    .where(StatusChange.cpts_id == Cpts.id)
    .scalar_subquery(),
).where(Cpts.id == bindparam("cpts_id"))


async def get_cpts(reader: AsyncConnection, principal: Principal, cpts_id: str) -> CptsDetailRecord:
    """One CPTS with its communes and status history; 404 when it is missing or outside the
    caller's territory (indistinguishable)."""
    row = (await reader.execute(_DETAIL, {"cpts_id": cpts_id})).first()
    if row is None or not principal.sees(region=row.region, departement=row.departement, cpts_id=row.id):
        raise not_found("CPTS", cpts_id)
    *_, codes, changes = row
    return CptsDetailRecord(
        _record(row),
        sorted(codes or ()),
        [
            StatusRecord(status, date.fromisoformat(effective), reason)
            for _, status, effective, reason in sorted(changes or (), key=lambda change: change[0])
        ],
    )


@dataclass(frozen=True)
class _ListStatements:
    page: Select[*tuple[Any, ...]]
    total: Select[int]


@lru_cache(maxsize=256)
def _list_statements(territory: Principal, filters: CptsFilters) -> _ListStatements:
    """Built once per territory and filters: a statement built anew costs SQLAlchemy its cache
    key and the matching of its result columns to the cached ones, on every request."""
    conditions = [_scope(territory)]
    if filters.region:
        conditions.append(Cpts.region == filters.region)
    if filters.departement:
        conditions.append(Cpts.departement == filters.departement)
    if filters.status:
        conditions.append(Cpts.status == filters.status.value)
    if filters.size_tier:
        conditions.append(Cpts.size_tier == filters.size_tier.value)
    if filters.siren:
        conditions.append(Cpts.siren == filters.siren)
    if filters.name:
        conditions.append(func.lower(Cpts.name).contains(filters.name.lower(), autoescape=True))
    # The total rides along with the page (a scalar subquery, evaluated once): one round trip.
    # A page past the end has no row to carry it, so it is counted apart.
    total = select(func.count()).select_from(Cpts).where(*conditions).scalar_subquery()
    page = (
        select(*_RECORD_COLUMNS, total)
        .where(*conditions)
        .order_by(Cpts.name, Cpts.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    return _ListStatements(page, select(total))


async def list_cpts(
    reader: AsyncConnection, principal: Principal, filters: CptsFilters, page: PageParams
) -> tuple[list[CptsRecord], int]:
    statements = _list_statements(replace(principal, subject=""), filters)
    rows = (await reader.execute(statements.page, {"limit": page.limit, "offset": page.offset})).all()
    if rows:
        return [_record(r) for r in rows], int(rows[0][-1])
    return [], int(await reader.scalar(statements.total) or 0)


@dataclass(frozen=True)
class CoverageArea:
    """Coverage of one area, with the claiming CPTS the caller may see."""

    level: CoverageLevel
    code: str | None
    name: str
    coverage: Coverage
    active_cpts: int
    visible_cpts: frozenset[str]


async def coverage(
    session: AsyncSession, principal: Principal, *, region: str | None, departement: str | None
) -> CoverageArea:
    ref = load_reference()
    communes: list[Commune]
    if region and departement:
        raise Problem(422, "Give a region or a département, not both", type_="/problems/validation-error")
    if departement:
        dep = ref.departements.get(departement)
        if dep is None or not principal.sees(region=dep.region, departement=departement, cpts_id=None):
            raise not_found("Département", departement)
        level, code, name = CoverageLevel.DEPARTEMENT, departement, dep.name
        communes = ref.communes_in_departement(departement)
        claim_scope = Cpts.region == dep.region
    elif region:
        reg = ref.regions.get(region)
        if reg is None or not (principal.is_national or (principal.role is Role.ARS and principal.region == region)):
            raise not_found("Region", region)
        level, code, name = CoverageLevel.REGION, region, reg.name
        communes = ref.communes_in_region(region)
        claim_scope = Cpts.region == region
    else:
        if not principal.is_national:
            raise Problem(
                403,
                "National coverage needs a national role; ask for your region or département",
                type_="/problems/outside-territory",
            )
        level, code, name = CoverageLevel.NATION, None, "France"
        communes = sorted(ref.communes.values(), key=lambda c: c.code)
        claim_scope = Cpts.id.is_not(None)
    active = [s.value for s in ACTIVE]
    claims: dict[str, list[str]] = {}
    visible: set[str] = set()
    rows = await session.execute(
        select(TerritoryCommune.commune, Cpts.id, Cpts.region, Cpts.departement)
        .join(Cpts, Cpts.id == TerritoryCommune.cpts_id)
        .where(Cpts.status.in_(active), claim_scope)
    )
    in_scope = {c.code for c in communes}
    active_cpts: set[str] = set()
    for commune, cpts_id, cpts_region, cpts_dep in rows:
        if commune not in in_scope:
            continue
        claims.setdefault(commune, []).append(cpts_id)
        active_cpts.add(cpts_id)
        if principal.sees(region=cpts_region, departement=cpts_dep, cpts_id=cpts_id):
            visible.add(cpts_id)
    return CoverageArea(level, code, name, compute_coverage(communes, claims), len(active_cpts), frozenset(visible))
