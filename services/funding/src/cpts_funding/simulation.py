"""The what-if simulator for the next ACI negotiation (Senate proposals P3, P4, P6): the national
cost of a parameter set and levers, with today's signatories and their contracts, by tier,
mission and region, against the current parameters. It changes nothing.

Both sides go through :func:`cpts_funding.aggregates.signatory_envelopes`, the function the
analytics use: with the current parameters and levers the simulation gives exactly the
analytics' theoretical totals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from cpts_funding.aggregates import Where, signatory_envelopes
from cpts_funding.domain.amounts import ZERO, KeyAmount
from cpts_funding.domain.levers import PolicyLevers
from cpts_funding.domain.parameters import AciParameters
from cpts_funding.storage.inputs import parameter_versions
from cpts_kit.auth import Principal
from cpts_kit.missions import Mission

# Far above any load order: the simulated version wins over every stored one for its years.
SIMULATED_ORDER = 10**12


@dataclass(frozen=True)
class Cost:
    signatories: int
    theoretical: Decimal
    maximum: Decimal
    by_tier: list[KeyAmount]  # maximum by tier
    by_mission: list[KeyAmount]  # maximum by mission (functioning included)
    by_region: list[KeyAmount]  # maximum by region


@dataclass(frozen=True)
class YearSimulation:
    year: int
    simulated: Cost
    current: Cost
    difference_theoretical: Decimal
    difference_maximum: Decimal


def _sorted(totals: dict[str, Decimal]) -> list[KeyAmount]:
    return [KeyAmount(k, v) for k, v in sorted(totals.items())]


async def _cost(
    session: AsyncSession,
    principal: Principal,
    where: Where,
    year: int,
    versions: list[AciParameters] | None,
    levers: PolicyLevers | None,
) -> Cost:
    envelopes = await signatory_envelopes(
        session, principal, where, [year], versions=versions, levers={year: levers} if levers else None
    )
    by_tier: dict[str, Decimal] = defaultdict(lambda: ZERO)
    by_mission: dict[str, Decimal] = defaultdict(lambda: ZERO)
    by_region: dict[str, Decimal] = defaultdict(lambda: ZERO)
    theoretical = maximum = ZERO
    for cpts, envelope in envelopes:
        theoretical += envelope.theoretical
        maximum += envelope.maximum
        by_tier[envelope.tier] += envelope.maximum
        by_region[cpts.region] += envelope.maximum
        by_mission[Mission.FUNCTIONING.value] += envelope.functioning
        for line in envelope.lines:
            by_mission[line.mission.value] += line.maximum
    return Cost(
        signatories=len({c.cpts_id for c, _ in envelopes}),
        theoretical=theoretical,
        maximum=maximum,
        by_tier=_sorted(by_tier),
        by_mission=_sorted(by_mission),
        by_region=_sorted(by_region),
    )


async def simulate(
    session: AsyncSession,
    principal: Principal,
    where: Where,
    years: list[int],
    parameters: AciParameters | None,
    levers: dict[int, PolicyLevers] | None,
) -> list[YearSimulation]:
    """``parameters``: the set to simulate (None: the current versions); ``levers`` by year
    (None or a missing year: the year's current levers)."""
    versions = None
    if parameters is not None:
        simulated = replace(parameters, effective_from=date(min(years), 1, 1), order=SIMULATED_ORDER)
        versions = [*await parameter_versions(session), simulated]
    found = []
    for year in years:
        simulated_cost = await _cost(session, principal, where, year, versions, (levers or {}).get(year))
        current = await _cost(session, principal, where, year, None, None)
        found.append(
            YearSimulation(
                year=year,
                simulated=simulated_cost,
                current=current,
                difference_theoretical=simulated_cost.theoretical - current.theoretical,
                difference_maximum=simulated_cost.maximum - current.maximum,
            )
        )
    return found
