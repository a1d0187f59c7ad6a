"""The theoretical ACI envelope of one CPTS for one fiscal year, mission by mission.

The ACI pays by contract year: the envelope of ``year`` covers the contract year that starts
in it (at the signature, then at each anniversary; ``eligibility.contract_year``), so a CPTS
signed in June has a whole first year, paid by the schedule from its signature on.

Order of the computation (each amount is rounded to the cent once):

1. the tier from the CPTS's population, with the parameter version in force for the year;
2. the proration: the days of the contract year the CPTS spent with the status
   ``aci_signed``, over the days of that contract year (a suspension or a dissolution cuts it);
   for a mission, only the days from its start in the contract (a mission not contracted has
   no line);
3. functioning credits: in the signature year they are paid in full at the signature (ACI
   art. 9.1), at the start-up amount where the version has one (avenant 2: +75 %); later years
   ``base × (1 − reduction for the maturity) × proration``; a CPTS that signed before the
   start-up amounts existed gets the difference once, in its first contract year under them
   (avenant 2: the 2019–2021 signatories' top-up, ``startup_top_up``);
4. each contracted mission: fixed and variable maxima (with the variable-share lever, the
   variable part is ``(fixed + variable) × share`` and the fixed part the rest), prorated from
   its start; the SNP compensation (access mission) is prorated and stays fixed; the crisis
   mission (avenant 2) is paid in full its first year, then at the version's update share;
5. accepted reallocations move fixed amounts between missions (fungibility);
6. the variable part earned is ``variable maximum × achievement rate`` (none recorded: 0).

The total theoretical envelope is functioning + fixed + SNP + variable earned; the maximum
counts the whole variable part (all indicators met).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from cpts_funding.domain.amounts import ZERO, scaled
from cpts_funding.domain.levers import PolicyLevers
from cpts_funding.domain.parameters import AciParameters, MissionAmounts
from cpts_kit.missions import CONVENTIONAL, Mission


@dataclass(frozen=True)
class Move:
    """An accepted reallocation: ``amount`` of fixed part from one mission to another."""

    from_mission: Mission
    to_mission: Mission
    amount: Decimal


@dataclass(frozen=True)
class MissionLine:
    mission: Mission
    fixed: Decimal
    snp_compensation: Decimal
    variable_max: Decimal
    achievement: Decimal | None
    variable_earned: Decimal
    reallocated: Decimal  # net fixed amount moved in (+) or out (−) by fungibility

    @property
    def maximum(self) -> Decimal:
        return self.fixed + self.snp_compensation + self.variable_max

    @property
    def theoretical(self) -> Decimal:
        return self.fixed + self.snp_compensation + self.variable_earned


@dataclass(frozen=True)
class Envelope:
    year: int
    parameters: AciParameters
    tier: str
    population: int
    maturity: int
    aci_days: int
    signature_year: bool
    functioning_base: Decimal
    functioning_reduction: Decimal
    functioning: Decimal  # the functioning credits of the year, start-up top-up included
    lines: tuple[MissionLine, ...]
    period: tuple[date, date]  # the contract year's first and last days
    startup_top_up: Decimal = ZERO
    crisis_first_year: bool = False  # the crisis plan is drawn up this year (paid in full)

    @property
    def eligible(self) -> bool:
        return self.aci_days > 0

    @property
    def days_in_year(self) -> int:
        """The days of the contract year (365 or 366)."""
        return (self.period[1] - self.period[0]).days + 1

    def line(self, mission: Mission) -> MissionLine | None:
        return next((line for line in self.lines if line.mission is mission), None)

    @property
    def fixed_total(self) -> Decimal:
        return sum((line.fixed + line.snp_compensation for line in self.lines), ZERO)

    @property
    def variable_max_total(self) -> Decimal:
        return sum((line.variable_max for line in self.lines), ZERO)

    @property
    def variable_earned_total(self) -> Decimal:
        return sum((line.variable_earned for line in self.lines), ZERO)

    @property
    def missions_maximum(self) -> Decimal:
        return sum((line.maximum for line in self.lines), ZERO)

    @property
    def maximum(self) -> Decimal:
        return self.functioning + self.missions_maximum

    @property
    def theoretical(self) -> Decimal:
        return self.functioning + self.fixed_total + self.variable_earned_total


def compute_envelope(
    *,
    year: int,
    parameters: AciParameters,
    population: int,
    maturity: int,
    aci_days: int,
    levers: PolicyLevers,
    period: tuple[date, date] | None = None,
    achievements: Mapping[Mission, Decimal] | None = None,
    moves: Sequence[Move] = (),
    mission_days: Mapping[Mission, int] | None = None,
    signature_year: bool = False,
    crisis_first_year: bool = False,
    startup_top_up: bool = False,
) -> Envelope:
    """``period``: the contract year's first and last days (None: the calendar year);
    ``mission_days``: the days of it each contracted mission ran under the ACI (None: every
    mission of the version for ``aci_days``); ``signature_year``: functioning credits in
    full (start-up amount where the version has one); ``crisis_first_year``: the crisis mission
    in full, not prorated nor at its update share; ``startup_top_up``: the difference between
    the start-up and the ordinary functioning credits is owed this year (signed before the
    start-up amounts)."""
    achievements = achievements or {}
    tier = parameters.tier_for(population)
    period = period or (date(year, 1, 1), date(year, 12, 31))
    days = (period[1] - period[0]).days + 1
    reduction = levers.reduction_for(maturity)
    base = tier.functioning
    if signature_year and aci_days > 0:
        base = tier.startup_functioning if tier.startup_functioning is not None else tier.functioning
        functioning = scaled(base, 1 - reduction)
    else:
        functioning = scaled(base, (1 - reduction) * aci_days, days)
    top_up = ZERO
    if startup_top_up and aci_days > 0 and tier.startup_functioning is not None:
        top_up = tier.startup_functioning - tier.functioning
    lines: dict[Mission, MissionLine] = {}
    for mission in CONVENTIONAL:
        amounts = tier.missions.get(mission)
        running = aci_days if mission_days is None else mission_days.get(mission)
        if amounts is None or running is None:
            continue
        if mission is Mission.CRISIS_RESPONSE and running > 0:
            if crisis_first_year:
                running = days  # the crisis plan's first year is paid in full
            elif parameters.crisis_update_share is not None:
                amounts = MissionAmounts(
                    scaled(amounts.fixed, parameters.crisis_update_share),
                    scaled(amounts.variable, parameters.crisis_update_share),
                )
        if levers.variable_share is not None and amounts.variable > 0:
            total = scaled(amounts.fixed + amounts.variable, running, days)
            variable = scaled(amounts.fixed + amounts.variable, levers.variable_share * running, days)
            fixed = total - variable
        else:
            fixed = scaled(amounts.fixed, running, days)
            variable = scaled(amounts.variable, running, days)
        snp = scaled(tier.snp_compensation, running, days) if mission is Mission.ACCESS_TO_CARE else ZERO
        lines[mission] = MissionLine(mission, fixed, snp, variable, None, ZERO, ZERO)
    for move in moves:
        source, target = lines.get(move.from_mission), lines.get(move.to_mission)
        if source is None or target is None:
            raise ValueError(f"a reallocation names a mission outside the envelope: {move}")
        lines[move.from_mission] = replace(
            source, fixed=source.fixed - move.amount, reallocated=source.reallocated - move.amount
        )
        lines[move.to_mission] = replace(
            target, fixed=target.fixed + move.amount, reallocated=target.reallocated + move.amount
        )
    for mission, line in lines.items():
        rate = achievements.get(mission)
        if rate is not None:
            lines[mission] = replace(line, achievement=rate, variable_earned=scaled(line.variable_max, rate))
    return Envelope(
        year=year,
        parameters=parameters,
        tier=tier.tier,
        population=population,
        maturity=maturity,
        aci_days=aci_days,
        signature_year=signature_year,
        functioning_base=base,
        functioning_reduction=reduction,
        functioning=functioning + top_up,
        lines=tuple(lines.values()),
        period=period,
        startup_top_up=top_up,
        crisis_first_year=crisis_first_year and Mission.CRISIS_RESPONSE in lines,
    )
