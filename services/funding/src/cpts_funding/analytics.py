"""Aggregates: who pays what, where, for which mission and part; per capita; theoretical ACI
envelopes against what was paid; and the ACI/FIR overlaps. Every figure counts only what the
caller may see: asking for a territory the caller cannot see as a whole answers 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_funding import views
from cpts_funding.api import schemas
from cpts_funding.domain import overlaps as overlap_rules
from cpts_funding.domain.amounts import ZERO
from cpts_funding.domain.categories import FunderCategory
from cpts_funding.domain.flows import FlowKind
from cpts_funding.domain.missions import Mission
from cpts_funding.queries import kind_cents, paid_cents, scope
from cpts_funding.refdata import territories
from cpts_funding.storage.inputs import load_inputs
from cpts_funding.storage.models import Flow, RegistryCpts
from cpts_kit.auth import Principal, Role
from cpts_kit.money import CENT, from_cents, sum_cents
from cpts_kit.problems import Problem, not_found

FIRST_YEAR = 2019  # the ACI came into force in August 2019


@dataclass(frozen=True)
class Where:
    """The territory asked for, already checked against the caller's."""

    scope: schemas.Scope
    condition: ColumnElement[bool]


def resolve_territory(
    principal: Principal, *, region: str | None, departement: str | None, cpts: RegistryCpts | None
) -> Where:
    given = [name for name, value in (("region", region), ("departement", departement), ("cpts", cpts)) if value]
    if len(given) > 1:
        raise Problem(422, "Give at most one of region, departement and cpts", type_="/problems/validation-error")
    ref = territories()
    if cpts is not None:
        return Where(
            schemas.Scope(level="cpts", code=cpts.cpts_id, name=cpts.name), RegistryCpts.cpts_id == cpts.cpts_id
        )
    if departement is not None:
        found = ref.departements.get(departement)
        sees = found is not None and (
            principal.is_national
            or (principal.role is Role.ARS and principal.region == found[1])
            or (principal.role is Role.CPAM and departement in principal.departements)
        )
        if not sees or found is None:
            raise not_found("Département", departement)
        return Where(
            schemas.Scope(level="departement", code=departement, name=found[0]),
            RegistryCpts.departement == departement,
        )
    if region is not None:
        name = ref.regions.get(region)
        if name is None or not (principal.is_national or (principal.role is Role.ARS and principal.region == region)):
            raise not_found("Region", region)
        return Where(schemas.Scope(level="region", code=region, name=name), RegistryCpts.region == region)
    if principal.is_national:
        return Where(schemas.Scope(level="nation", code=None, name="France"), true())
    if principal.role is Role.ARS and principal.region:
        name = ref.regions.get(principal.region, principal.region)
        return Where(schemas.Scope(level="region", code=principal.region, name=name), true())
    if principal.role is Role.CPAM:
        codes = sorted(principal.departements)
        names = ", ".join(ref.departements.get(c, (c, ""))[0] for c in codes)
        return Where(schemas.Scope(level="departements", code=",".join(codes), name=names), true())
    return Where(schemas.Scope(level="cpts", code=principal.cpts_id, name=""), true())  # not projected yet


def years_of(year: int | None, year_from: int | None, year_to: int | None, today: date) -> list[int]:
    if year is not None and (year_from is not None or year_to is not None):
        raise Problem(422, "Give year, or year_from and year_to, not both", type_="/problems/validation-error")
    if year is not None:
        return [year]
    first = year_from if year_from is not None else FIRST_YEAR
    last = year_to if year_to is not None else max(today.year, first)
    if last < first:
        raise Problem(422, "year_to is before year_from", type_="/problems/validation-error")
    if last - first > 50:
        raise Problem(422, "At most 50 years at a time", type_="/problems/validation-error")
    return list(range(first, last + 1))


async def funding_analytics(
    session: AsyncSession,
    principal: Principal,
    where: Where,
    years: list[int],
    category: FunderCategory | None,
) -> schemas.FundingAnalytics:
    conditions = [
        scope(principal),
        where.condition,
        Flow.fiscal_year.in_(years)
        if len(years) < 10
        else and_(Flow.fiscal_year >= years[0], Flow.fiscal_year <= years[-1]),
    ]
    if category is not None:
        conditions.append(Flow.funder_category == category.value)

    totals = (
        await session.execute(
            select(
                sum_cents(paid_cents()),
                sum_cents(kind_cents(FlowKind.ALLOCATION)),
                sum_cents(kind_cents(FlowKind.RECOVERY)),
            )
            .select_from(Flow)
            .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
            .where(*conditions)
        )
    ).one()
    total, allocated, recovered = (from_cents(v) for v in totals)
    breakdowns: dict[str, list[schemas.KeyAmount]] = {}
    columns: dict[str, ColumnElement[str] | ColumnElement[int]] = {
        "category": Flow.funder_category.expression,
        "mission": Flow.mission.expression,
        "part": Flow.part.expression,
        "year": Flow.fiscal_year.expression,
    }
    for name, column in columns.items():
        rows = await session.execute(
            select(column, sum_cents(paid_cents()))
            .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
            .where(*conditions)
            .group_by(column)
        )
        breakdowns[name] = views.by_key([(str(key), from_cents(cents)) for key, cents in rows])
    funded = (
        select(Flow.cpts_id)
        .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
        .where(*conditions)
        .group_by(Flow.cpts_id)
        .having(sum_cents(kind_cents(FlowKind.PAYMENT)) > 0)
    )
    funded_ids = set((await session.scalars(funded)).all())
    population = int(
        await session.scalar(
            select(func.coalesce(func.sum(RegistryCpts.population), 0)).where(RegistryCpts.cpts_id.in_(funded))
        )
        or 0
    )
    per_capita = (total / population).quantize(CENT, rounding=ROUND_HALF_EVEN) if population else ZERO
    envelopes = await envelopes_vs_paid(session, principal, where, years)
    return schemas.FundingAnalytics(
        scope=where.scope,
        years=years,
        funder_category=category,
        total=total,
        allocated=allocated,
        recovered=recovered,
        cpts_funded=len(funded_ids),
        population=population,
        per_capita=per_capita,
        by_funder_category=breakdowns["category"],
        by_mission=breakdowns["mission"],
        by_part=breakdowns["part"],
        by_year=breakdowns["year"],
        aci_envelopes=envelopes,
    )


async def envelopes_vs_paid(
    session: AsyncSession, principal: Principal, where: Where, years: list[int]
) -> schemas.EnvelopesVsPaid:
    """The ACI envelopes of the signatories in the territory, against the ACI money paid."""
    signatories = (
        await session.scalars(
            select(RegistryCpts).where(
                scope(principal),
                where.condition,
                RegistryCpts.aci_signed_on.is_not(None),
                RegistryCpts.aci_signed_on <= date(years[-1], 12, 31),
            )
        )
    ).all()
    inputs = await load_inputs(session, years, [c.cpts_id for c in signatories])
    maximum = theoretical = ZERO
    by_mission: list[tuple[str, Decimal]] = []
    counted: set[str] = set()
    illustrative = False
    for cpts in signatories:
        for year in years:
            envelope = inputs.envelope(cpts, year)
            if envelope is None or not envelope.eligible:
                continue
            counted.add(cpts.cpts_id)
            illustrative = illustrative or envelope.parameters.illustrative
            maximum += envelope.maximum
            theoretical += envelope.theoretical
            by_mission.append((Mission.FUNCTIONING.value, envelope.functioning))
            by_mission += [(line.mission.value, line.theoretical) for line in envelope.lines]
    paid = from_cents(
        await session.scalar(
            select(sum_cents(paid_cents()))
            .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
            .where(
                scope(principal),
                where.condition,
                Flow.funder_category == FunderCategory.ACI.value,
                and_(Flow.fiscal_year >= years[0], Flow.fiscal_year <= years[-1]),
            )
        )
    )
    return schemas.EnvelopesVsPaid(
        signatories=len(counted),
        maximum=maximum,
        theoretical=theoretical,
        paid=paid,
        by_mission=views.by_key(by_mission),
        illustrative=illustrative,
    )


async def overlap_report(
    session: AsyncSession, principal: Principal, where: Where, years: list[int]
) -> list[schemas.OverlapView]:
    rows = await session.execute(
        select(
            Flow.cpts_id,
            Flow.fiscal_year,
            Flow.mission,
            Flow.funder_category,
            sum_cents(kind_cents(FlowKind.ALLOCATION)),
            sum_cents(paid_cents()),
        )
        .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
        .where(
            scope(principal),
            where.condition,
            Flow.funder_category.in_([FunderCategory.ACI.value, FunderCategory.FIR.value]),
            and_(Flow.fiscal_year >= years[0], Flow.fiscal_year <= years[-1]),
        )
        .group_by(Flow.cpts_id, Flow.fiscal_year, Flow.mission, Flow.funder_category)
    )
    financed = [
        overlap_rules.Financed(
            cpts_id, int(year), mission, FunderCategory(category), from_cents(allocated), from_cents(paid)
        )
        for cpts_id, year, mission, category, allocated, paid in rows
    ]
    overlaps = overlap_rules.aci_fir_overlaps(financed)
    if not overlaps:
        return []
    names = {
        c.cpts_id: c
        for c in await session.scalars(
            select(RegistryCpts).where(RegistryCpts.cpts_id.in_(sorted({o.cpts_id for o in overlaps})))
        )
    }
    return [
        schemas.OverlapView(
            cpts_id=o.cpts_id,
            cpts_name=names[o.cpts_id].name,
            region=names[o.cpts_id].region,
            departement=names[o.cpts_id].departement,
            fiscal_year=o.year,
            mission=Mission(o.mission),
            aci_allocated=o.aci_allocated,
            aci_paid=o.aci_paid,
            fir_allocated=o.fir_allocated,
            fir_paid=o.fir_paid,
        )
        for o in overlaps
    ]
