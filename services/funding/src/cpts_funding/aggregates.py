"""Aggregates: who pays what, where, for which mission and part; per capita; theoretical ACI
envelopes against what was paid; and the ACI/FIR overlaps. Every figure counts only what the
caller may see: asking for a territory the caller cannot see as a whole answers 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_funding.domain import overlaps as overlap_rules
from cpts_funding.domain.amounts import ZERO, KeyAmount, by_key
from cpts_funding.domain.categories import FunderCategory
from cpts_funding.domain.envelope import Envelope
from cpts_funding.domain.flows import FlowKind
from cpts_funding.domain.levers import PolicyLevers
from cpts_funding.domain.parameters import AciParameters
from cpts_funding.queries import envelope_money, kind_cents, paid_cents, scope
from cpts_funding.refdata import territories
from cpts_funding.storage.inputs import Signatory, load_inputs, signatories
from cpts_funding.storage.models import Flow, RegistryCpts
from cpts_kit.auth import Principal, Role
from cpts_kit.missions import Mission
from cpts_kit.money import CENT, from_cents, sum_cents
from cpts_kit.problems import Problem, not_found

FIRST_YEAR = 2019  # the ACI came into force in August 2019


@dataclass(frozen=True)
class Scope:
    level: str
    code: str | None
    name: str


@dataclass(frozen=True)
class Where:
    """The territory asked for, already checked against the caller's."""

    scope: Scope
    condition: ColumnElement[bool]


@dataclass(frozen=True)
class EnvelopesVsPaid:
    signatories: int
    maximum: Decimal
    theoretical: Decimal
    paid: Decimal
    by_mission: list[KeyAmount]
    illustrative: bool
    over_maximum: int  # CPTS-years paid above their maximum
    excess: Decimal  # what was paid above the maxima


@dataclass(frozen=True)
class FundingAnalytics:
    scope: Scope
    years: list[int]
    funder_category: FunderCategory | None
    total: Decimal
    allocated: Decimal
    recovered: Decimal
    cpts_funded: int
    population: int
    per_capita: Decimal
    by_funder_category: list[KeyAmount]
    by_mission: list[KeyAmount]
    by_part: list[KeyAmount]
    by_year: list[KeyAmount]
    aci_envelopes: EnvelopesVsPaid


@dataclass(frozen=True)
class OverlapRow:
    cpts_id: str
    cpts_name: str
    region: str
    departement: str
    fiscal_year: int
    mission: Mission
    aci_allocated: Decimal
    aci_paid: Decimal
    fir_allocated: Decimal
    fir_paid: Decimal


def resolve_territory(
    principal: Principal, *, region: str | None, departement: str | None, cpts: RegistryCpts | None
) -> Where:
    given = [name for name, value in (("region", region), ("departement", departement), ("cpts", cpts)) if value]
    if len(given) > 1:
        raise Problem(422, "Give at most one of region, departement and cpts", type_="/problems/validation-error")
    ref = territories()
    if cpts is not None:
        return Where(Scope(level="cpts", code=cpts.cpts_id, name=cpts.name), RegistryCpts.cpts_id == cpts.cpts_id)
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
            Scope(level="departement", code=departement, name=found[0]),
            RegistryCpts.departement == departement,
        )
    if region is not None:
        name = ref.regions.get(region)
        if name is None or not (principal.is_national or (principal.role is Role.ARS and principal.region == region)):
            raise not_found("Region", region)
        return Where(Scope(level="region", code=region, name=name), RegistryCpts.region == region)
    if principal.is_national:
        return Where(Scope(level="nation", code=None, name="France"), true())
    if principal.role is Role.ARS and principal.region:
        name = ref.regions.get(principal.region, principal.region)
        return Where(Scope(level="region", code=principal.region, name=name), true())
    if principal.role is Role.CPAM:
        codes = sorted(principal.departements)
        names = ", ".join(ref.departements.get(c, (c, ""))[0] for c in codes)
        return Where(Scope(level="departements", code=",".join(codes), name=names), true())
    return Where(Scope(level="cpts", code=principal.cpts_id, name=""), true())  # not projected yet


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


# The breakdowns of the funding analytics, in the order of their keys in its grouped query.
BREAKDOWNS = ("category", "mission", "part", "year")


async def funding_analytics(
    session: AsyncSession,
    principal: Principal,
    where: Where,
    years: list[int],
    category: FunderCategory | None,
) -> FundingAnalytics:
    conditions = [
        scope(principal),
        where.condition,
        Flow.fiscal_year.in_(years)
        if len(years) < 10
        else and_(Flow.fiscal_year >= years[0], Flow.fiscal_year <= years[-1]),
    ]
    if category is not None:
        conditions.append(Flow.funder_category == category.value)

    # One pass over the flows grouped by every breakdown's key at once (a few hundred rows at
    # most): the totals and the four breakdowns are sums of these groups.
    keys = (Flow.funder_category, Flow.mission, Flow.part, Flow.fiscal_year)
    groups = (
        await session.execute(
            select(
                *keys,
                sum_cents(paid_cents()),
                sum_cents(kind_cents(FlowKind.ALLOCATION)),
                sum_cents(kind_cents(FlowKind.RECOVERY)),
            )
            .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
            .where(*conditions)
            .group_by(*keys)
        )
    ).all()
    paid = [(row, from_cents(row[4])) for row in groups]
    total = sum((amount for _, amount in paid), ZERO)
    allocated = sum((from_cents(row[5]) for row in groups), ZERO)
    recovered = sum((from_cents(row[6]) for row in groups), ZERO)
    breakdowns = {name: by_key((str(row[i]), amount) for row, amount in paid) for i, name in enumerate(BREAKDOWNS)}
    funded = await session.execute(
        select(Flow.cpts_id, func.max(RegistryCpts.population))
        .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
        .where(*conditions)
        .group_by(Flow.cpts_id)
        .having(sum_cents(kind_cents(FlowKind.PAYMENT)) > 0)
    )
    funded_populations = [int(population or 0) for _, population in funded]
    population = sum(funded_populations)
    per_capita = (total / population).quantize(CENT, rounding=ROUND_HALF_EVEN) if population else ZERO
    envelopes = await envelopes_vs_paid(session, principal, where, years)
    return FundingAnalytics(
        scope=where.scope,
        years=years,
        funder_category=category,
        total=total,
        allocated=allocated,
        recovered=recovered,
        cpts_funded=len(funded_populations),
        population=population,
        per_capita=per_capita,
        by_funder_category=breakdowns["category"],
        by_mission=breakdowns["mission"],
        by_part=breakdowns["part"],
        by_year=breakdowns["year"],
        aci_envelopes=envelopes,
    )


async def signatory_envelopes(
    session: AsyncSession,
    principal: Principal,
    where: Where,
    years: list[int],
    *,
    versions: list[AciParameters] | None = None,
    levers: dict[int, PolicyLevers] | None = None,
) -> list[tuple[Signatory, Envelope]]:
    """The ACI envelopes of the signatories in the territory for the years (those with at least
    one day under the ACI). ``versions``/``levers`` replace the stored ones (the simulator):
    the analytics and the simulator compute through this one function."""
    candidates = await signatories(
        session, scope(principal), where.condition, RegistryCpts.aci_signed_on <= date(years[-1], 12, 31)
    )
    inputs = await load_inputs(session, years, [c.cpts_id for c in candidates])
    found = []
    for cpts in candidates:
        for year in years:
            envelope = inputs.envelope(cpts, year, versions=versions, levers=(levers or {}).get(year))
            if envelope is not None and envelope.eligible:
                found.append((cpts, envelope))
    return found


async def aci_paid_by_cpts_year(
    session: AsyncSession, principal: Principal, where: Where, years: list[int]
) -> dict[tuple[str, int], Decimal]:
    rows = await session.execute(
        select(Flow.cpts_id, Flow.fiscal_year, sum_cents(paid_cents()))
        .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
        .where(
            scope(principal),
            where.condition,
            Flow.funder_category == FunderCategory.ACI.value,
            and_(Flow.fiscal_year >= years[0], Flow.fiscal_year <= years[-1]),
            envelope_money(),
        )
        .group_by(Flow.cpts_id, Flow.fiscal_year)
    )
    return {(cpts_id, int(year)): from_cents(cents) for cpts_id, year, cents in rows}


async def envelopes_vs_paid(
    session: AsyncSession, principal: Principal, where: Where, years: list[int]
) -> EnvelopesVsPaid:
    """The ACI envelopes of the signatories in the territory, against the ACI money paid, and
    the CPTS-years paid above their maximum."""
    maximum = theoretical = excess = ZERO
    by_mission: list[tuple[str, Decimal]] = []
    counted: set[str] = set()
    illustrative = False
    over = 0
    paid_by = await aci_paid_by_cpts_year(session, principal, where, years)
    for cpts, envelope in await signatory_envelopes(session, principal, where, years):
        counted.add(cpts.cpts_id)
        illustrative = illustrative or envelope.parameters.illustrative
        maximum += envelope.maximum
        theoretical += envelope.theoretical
        by_mission.append((Mission.FUNCTIONING.value, envelope.functioning))
        by_mission += [(line.mission.value, line.theoretical) for line in envelope.lines]
        paid_here = paid_by.get((cpts.cpts_id, envelope.year), ZERO)
        if paid_here > envelope.maximum:
            over += 1
            excess += paid_here - envelope.maximum
    return EnvelopesVsPaid(
        signatories=len(counted),
        maximum=maximum,
        theoretical=theoretical,
        paid=sum(paid_by.values(), ZERO),
        by_mission=by_key(by_mission),
        illustrative=illustrative,
        over_maximum=over,
        excess=excess,
    )


async def overlap_report(
    session: AsyncSession, principal: Principal, where: Where, years: list[int]
) -> list[OverlapRow]:
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
            # FIR start-up money before the signature is the intended sequence, not an overlap.
            RegistryCpts.aci_signed_on.is_not(None),
            Flow.flow_date >= RegistryCpts.aci_signed_on,
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
        OverlapRow(
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
