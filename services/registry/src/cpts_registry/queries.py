"""Read side of the registry: filtered lists and coverage, always scoped to the caller."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_kit.auth import Principal, Role
from cpts_kit.pagination import PageParams
from cpts_kit.problems import Problem, not_found
from cpts_registry.api import schemas
from cpts_registry.domain.coverage import compute_coverage
from cpts_registry.domain.lifecycle import ACTIVE, Status
from cpts_registry.domain.tiers import SizeTier
from cpts_registry.refdata import Commune, load_reference
from cpts_registry.storage.models import Cpts, TerritoryCommune


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


async def list_cpts(
    session: AsyncSession, principal: Principal, filters: CptsFilters, page: PageParams
) -> tuple[Sequence[Cpts], int]:
    conditions = [_scope(principal)]
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
    total = await session.scalar(select(func.count()).select_from(Cpts).where(*conditions))
    rows = await session.scalars(
        select(Cpts).where(*conditions).order_by(Cpts.name, Cpts.id).limit(page.limit).offset(page.offset)
    )
    return rows.all(), int(total or 0)


async def coverage(
    session: AsyncSession, principal: Principal, *, region: str | None, departement: str | None
) -> schemas.CoverageView:
    ref = load_reference()
    communes: list[Commune]
    if region and departement:
        raise Problem(422, "Give a region or a département, not both", type_="/problems/validation-error")
    if departement:
        dep = ref.departements.get(departement)
        if dep is None or not principal.sees(region=dep.region, departement=departement, cpts_id=None):
            raise not_found("Département", departement)
        level, code, name = schemas.CoverageLevel.DEPARTEMENT, departement, dep.name
        communes = ref.communes_in_departement(departement)
        claim_scope = Cpts.region == dep.region
    elif region:
        reg = ref.regions.get(region)
        if reg is None or not (principal.is_national or (principal.role is Role.ARS and principal.region == region)):
            raise not_found("Region", region)
        level, code, name = schemas.CoverageLevel.REGION, region, reg.name
        communes = ref.communes_in_region(region)
        claim_scope = Cpts.region == region
    else:
        if not principal.is_national:
            raise Problem(
                403,
                "National coverage needs a national role; ask for your region or département",
                type_="/problems/outside-territory",
            )
        level, code, name = schemas.CoverageLevel.NATION, None, "France"
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
    result = compute_coverage(communes, claims)
    return schemas.CoverageView(
        level=level,
        code=code,
        name=name,
        population=result.population,
        covered_population=result.covered_population,
        uncovered_population=result.uncovered_population,
        uncovered_share=round(result.uncovered_share, 6),
        communes=result.communes,
        active_cpts=len(active_cpts),
        uncovered_communes=[_ref(c) for c in result.uncovered],
        overlapping_communes=[
            schemas.OverlapRef(
                **_ref(o.commune).model_dump(), claims=len(o.cpts_ids), cpts_ids=[i for i in o.cpts_ids if i in visible]
            )
            for o in result.overlaps
        ],
    )


def _ref(commune: Commune) -> schemas.CommuneRef:
    return schemas.CommuneRef(
        code=commune.code, name=commune.name, departement=commune.departement, population=commune.population
    )
