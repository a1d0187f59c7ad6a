"""Steering analytics (Senate proposals P2 and P5): for a year, grouped by one or two of region,
département, CPTS, mission, funder category and size tier, what the ACI entitles the CPTS to
(theoretical, maximum), what was allocated and paid (every funder), and what the CPTS spent
(from the documents service's spending statements).

``basis``: ``fiscal_year`` counts flows by the fiscal year they belong to; ``payment_date`` by
the calendar year of their date (the Senate's figures are money paid in a calendar year).
Theoretical and maximum are the envelopes of the fiscal year on both bases, and spending has
no payer: grouped by funder category, it is reported on no row (``spent`` is null there).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_funding.aggregates import Where, signatory_envelopes
from cpts_funding.domain.amounts import ZERO
from cpts_funding.domain.categories import FunderCategory
from cpts_funding.domain.flows import FlowKind
from cpts_funding.queries import kind_cents, paid_cents, scope
from cpts_funding.storage.models import Flow, RegistryCpts, Spending
from cpts_kit.auth import Principal
from cpts_kit.missions import Mission
from cpts_kit.money import CENT, from_cents, sum_cents


class Dimension(StrEnum):
    REGION = "region"
    DEPARTEMENT = "departement"
    CPTS = "cpts"
    MISSION = "mission"
    FUNDER_CATEGORY = "funder_category"
    SIZE_TIER = "size_tier"


class Basis(StrEnum):
    FISCAL_YEAR = "fiscal_year"
    PAYMENT_DATE = "payment_date"


@dataclass
class _Sums:
    cpts: set[str] = field(default_factory=set)
    theoretical: Decimal = ZERO
    maximum: Decimal = ZERO
    allocated: Decimal = ZERO
    paid: Decimal = ZERO
    spent: Decimal = ZERO


@dataclass(frozen=True)
class SteeringRow:
    key: dict[str, str]
    cpts_count: int
    population: int
    theoretical: Decimal
    maximum: Decimal
    allocated: Decimal
    paid: Decimal
    spent: Decimal | None
    per_capita: Decimal


@dataclass(frozen=True)
class Steering:
    year: int
    basis: Basis
    group_by: list[Dimension]
    rows: list[SteeringRow]
    total: SteeringRow
    illustrative: bool  # an envelope was computed with the illustrative parameters


def _per_capita(paid: Decimal, population: int) -> Decimal:
    return (paid / population).quantize(CENT, rounding=ROUND_HALF_EVEN) if population else ZERO


async def steering(
    session: AsyncSession,
    principal: Principal,
    where: Where,
    year: int,
    group_by: Sequence[Dimension],
    basis: Basis,
) -> Steering:
    cpts_rows = {
        c.cpts_id: c for c in await session.scalars(select(RegistryCpts).where(scope(principal), where.condition))
    }
    tiers: dict[str, str] = {c.cpts_id: c.size_tier or "" for c in cpts_rows.values()}
    # Atoms: (cpts, mission, funder category) -> sums; grouped at the end.
    atoms: dict[tuple[str, str, str | None], _Sums] = defaultdict(_Sums)

    illustrative = False
    for signatory, envelope in await signatory_envelopes(session, principal, where, [year]):
        illustrative = illustrative or envelope.parameters.illustrative
        tiers[signatory.cpts_id] = envelope.tier
        functioning = atoms[(signatory.cpts_id, Mission.FUNCTIONING.value, FunderCategory.ACI.value)]
        functioning.theoretical += envelope.functioning
        functioning.maximum += envelope.functioning
        for line in envelope.lines:
            sums = atoms[(signatory.cpts_id, line.mission.value, FunderCategory.ACI.value)]
            sums.theoretical += line.theoretical
            sums.maximum += line.maximum

    in_year = (
        Flow.fiscal_year == year
        if basis is Basis.FISCAL_YEAR
        else and_(Flow.flow_date >= date(year, 1, 1), Flow.flow_date <= date(year, 12, 31))
    )
    flows = await session.execute(
        select(
            Flow.cpts_id,
            Flow.mission,
            Flow.funder_category,
            sum_cents(kind_cents(FlowKind.ALLOCATION)),
            sum_cents(paid_cents()),
        )
        .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
        .where(scope(principal), where.condition, in_year)
        .group_by(Flow.cpts_id, Flow.mission, Flow.funder_category)
    )
    for cpts_id, mission, category, allocated, paid in flows:
        sums = atoms[(cpts_id, mission, category)]
        sums.allocated += from_cents(allocated)
        sums.paid += from_cents(paid)

    spending = await session.execute(
        select(Spending.cpts_id, Spending.mission, Spending.amount)
        .join(RegistryCpts, RegistryCpts.cpts_id == Spending.cpts_id)
        .where(scope(principal), where.condition, Spending.fiscal_year == year)
    )
    for cpts_id, mission, amount in spending:
        atoms[(cpts_id, mission, None)].spent += amount

    by_category = Dimension.FUNDER_CATEGORY in group_by
    groups: dict[tuple[str, ...], _Sums] = defaultdict(_Sums)
    total = _Sums()
    for (cpts_id, mission, category), sums in atoms.items():
        if cpts_id not in cpts_rows:
            continue
        cpts = cpts_rows[cpts_id]
        values = {
            Dimension.REGION: cpts.region,
            Dimension.DEPARTEMENT: cpts.departement,
            Dimension.CPTS: cpts_id,
            Dimension.MISSION: mission,
            Dimension.FUNDER_CATEGORY: category or "",
            Dimension.SIZE_TIER: tiers.get(cpts_id, ""),
        }
        targets = [total]
        if not (by_category and category is None):
            targets.append(groups[tuple(values[d] for d in group_by)])
        for target in targets:
            target.cpts.add(cpts_id)
            target.theoretical += sums.theoretical
            target.maximum += sums.maximum
            target.allocated += sums.allocated
            target.paid += sums.paid
            target.spent += sums.spent

    def row(key: dict[str, str], sums: _Sums, spent_known: bool) -> SteeringRow:
        population = sum(cpts_rows[c].population for c in sums.cpts)
        return SteeringRow(
            key=key,
            cpts_count=len(sums.cpts),
            population=population,
            theoretical=sums.theoretical,
            maximum=sums.maximum,
            allocated=sums.allocated,
            paid=sums.paid,
            spent=sums.spent if spent_known else None,
            per_capita=_per_capita(sums.paid, population),
        )

    rows = [
        row({d.value: k for d, k in zip(group_by, key, strict=True)}, sums, not by_category)
        for key, sums in sorted(groups.items())
    ]
    return Steering(year, basis, list(group_by), rows, row({}, total, True), illustrative)
