"""ACI size tiers from the population covered (ACI 2019, art. 8; see reference/aci_cpts.md §1).

T1 < 40,000 inhabitants; T2 40,000–80,000; T3 80,000–175,000; T4 > 175,000. The registry
computes the tier; the amounts attached to tiers are the funding service's versioned data.
"""

from __future__ import annotations

from enum import StrEnum


class SizeTier(StrEnum):
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"


# (tier, smallest population in it), largest first.
THRESHOLDS: tuple[tuple[SizeTier, int], ...] = (
    (SizeTier.T4, 175_001),
    (SizeTier.T3, 80_000),
    (SizeTier.T2, 40_000),
    (SizeTier.T1, 0),
)


def size_tier(population: int) -> SizeTier:
    for tier, floor in THRESHOLDS:
        if population >= floor:
            return tier
    raise ValueError(f"negative population {population}")
