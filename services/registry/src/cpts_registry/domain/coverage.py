"""Coverage of a territory by active CPTS: population covered, uncovered communes ("zones
blanches") and communes claimed by more than one CPTS."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cpts_registry.refdata import Commune


class CoverageLevel(StrEnum):
    NATION = "nation"
    REGION = "region"
    DEPARTEMENT = "departement"


@dataclass(frozen=True)
class Overlap:
    commune: Commune
    cpts_ids: tuple[str, ...]


@dataclass(frozen=True)
class Coverage:
    population: int
    covered_population: int
    communes: int
    uncovered: tuple[Commune, ...]
    overlaps: tuple[Overlap, ...]

    @property
    def uncovered_population(self) -> int:
        return self.population - self.covered_population

    @property
    def uncovered_share(self) -> float:
        return self.uncovered_population / self.population if self.population else 0.0


def compute_coverage(communes: Sequence[Commune], claims: Mapping[str, Iterable[str]]) -> Coverage:
    """``claims`` maps a commune code to the ids of the active CPTS whose territory holds it."""
    covered = 0
    uncovered: list[Commune] = []
    overlaps: list[Overlap] = []
    for commune in communes:
        claimants = tuple(sorted(set(claims.get(commune.code, ()))))
        if not claimants:
            uncovered.append(commune)
            continue
        covered += commune.population
        if len(claimants) > 1:
            overlaps.append(Overlap(commune, claimants))
    return Coverage(
        population=sum(c.population for c in communes),
        covered_population=covered,
        communes=len(communes),
        uncovered=tuple(uncovered),
        overlaps=tuple(overlaps),
    )
