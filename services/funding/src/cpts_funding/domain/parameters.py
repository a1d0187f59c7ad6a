"""Versioned ACI parameters: size tiers and, per tier, the functioning credits and each
mission's fixed and variable maxima (plus the SNP compensation of the access mission).

The texts change (ACI 2019, avenant 2 of December 2021, the next ACI), so amounts are data
with an effective date, never constants. The version applying to a fiscal year is the one
with the latest effective date on or before 31 December of that year; between versions with
the same effective date, the one loaded last wins. The service ships an *illustrative* set
(reference/aci_cpts.md §8), flagged ``illustrative`` everywhere it shows, until an
administrator loads the official values as a new version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise

from cpts_kit.missions import CONVENTIONAL, Mission

DEFAULT_ADVANCE_SHARE = Decimal("0.75")


@dataclass(frozen=True)
class MissionAmounts:
    fixed: Decimal
    variable: Decimal


@dataclass(frozen=True)
class TierAmounts:
    tier: str
    min_population: int
    functioning: Decimal
    snp_compensation: Decimal
    missions: Mapping[Mission, MissionAmounts]
    # Avenant 2: the start-up functioning credits of the signature year (+75 %), and the lump
    # sum paid when the lettre d'intention is validated, before the contract. None: not in the text.
    startup_functioning: Decimal | None = None
    intention_letter_lump_sum: Decimal | None = None

    @property
    def ceiling(self) -> Decimal:
        """The most a CPTS of this tier can earn in a full year, all indicators met."""
        return (
            self.functioning
            + self.snp_compensation
            + sum((m.fixed + m.variable for m in self.missions.values()), Decimal(0))
        )


@dataclass(frozen=True)
class AciParameters:
    version: str
    label: str
    effective_from: date
    illustrative: bool
    source: str
    tiers: tuple[TierAmounts, ...]
    advance_share: Decimal = DEFAULT_ADVANCE_SHARE
    builtin: bool = False
    order: int = 0  # load order, to break ties between versions with the same effective date
    created_by: str | None = None
    # Avenant 2: the crisis mission is paid in full its first year, then this share for the
    # yearly updates of the crisis plan. None: the same amount every year.
    crisis_update_share: Decimal | None = None

    def tier_for(self, population: int) -> TierAmounts:
        """The tier whose population floor is the highest one at or below ``population``."""
        chosen = self.tiers[0]
        for tier in self.tiers:
            if population >= tier.min_population:
                chosen = tier
        return chosen

    def tier_named(self, name: str) -> TierAmounts | None:
        return next((t for t in self.tiers if t.tier == name), None)


def in_force(versions: Sequence[AciParameters], year: int) -> AciParameters | None:
    """The version applying to fiscal year ``year`` (see the module docstring)."""
    candidates = [v for v in versions if v.effective_from <= date(year, 12, 31)]
    if not candidates:
        return None
    return max(candidates, key=lambda v: (v.effective_from, v.order))


def startup_top_up_year(versions: Sequence[AciParameters], signed: date) -> int | None:
    """The year a CPTS signed before the start-up functioning amounts gets the difference (the
    first year after its signature whose version has them), if it does."""
    signature_version = in_force(versions, signed.year)
    if signature_version is None or any(t.startup_functioning is not None for t in signature_version.tiers):
        return None
    dated = sorted(v.effective_from.year for v in versions if any(t.startup_functioning for t in v.tiers))
    later = [year for year in dated if year > signed.year]
    return max(later[0], signed.year + 1) if later else None


def in_force_on(versions: Sequence[AciParameters], on: date) -> AciParameters | None:
    """The version in force on a date (the lettre d'intention lump sum is paid on a date)."""
    candidates = [v for v in versions if v.effective_from <= on]
    return max(candidates, key=lambda v: (v.effective_from, v.order)) if candidates else None


def parameter_problems(tiers: Sequence[TierAmounts], advance_share: Decimal) -> list[tuple[str, str]]:
    """(field, message) for each inconsistency of a new version; empty when it is sound."""
    problems: list[tuple[str, str]] = []
    names = [t.tier for t in tiers]
    if len(set(names)) != len(names):
        problems.append(("tiers", "each tier appears once"))
    floors = [t.min_population for t in tiers]
    if floors and floors[0] != 0:
        problems.append(("tiers.0.min_population", "the first tier starts at population 0"))
    if any(b <= a for a, b in pairwise(floors)):
        problems.append(("tiers", "tiers are listed by strictly increasing min_population"))
    for index, tier in enumerate(tiers):
        for mission in tier.missions:
            if mission not in CONVENTIONAL:
                problems.append((f"tiers.{index}.missions", f"{mission.value} is not a conventional mission"))
        amounts = [tier.functioning, tier.snp_compensation]
        amounts += [a for a in (tier.startup_functioning, tier.intention_letter_lump_sum) if a is not None]
        amounts += [a for m in tier.missions.values() for a in (m.fixed, m.variable)]
        if any(a < 0 for a in amounts):
            problems.append((f"tiers.{index}", "amounts are zero or positive"))
    if not (Decimal(0) <= advance_share <= Decimal(1)):
        problems.append(("advance_share", "a share between 0 and 1"))
    return problems
