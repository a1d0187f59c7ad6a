"""The versioned catalogue of result indicators, per conventional mission.

The official indicator list of the ACI is not public (reference/aci_cpts.md §3, §7): the
service ships an **illustrative** catalogue (``refdata/catalogue_illustrative.json``) that a
national role replaces by loading a new version. A version applies from its ``effective_year``
on; versions are immutable once loaded.

An indicator is either quantitative (a unit, a direction: ``higher`` or ``lower`` is better,
a baseline rule, and default baseline/target by size tier) or qualitative (a graded scale,
worst first, each grade with its written criterion). It lists the evidence it accepts and its
weight in its mission; the weights of a mission add up to 1. The crisis mission has no
indicator: its money is all fixed (avenant 2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from typing import Any

from cpts_kit.missions import Mission

# The missions whose ACI money has a variable part, hence indicators.
VARIABLE_MISSIONS: tuple[Mission, ...] = (
    Mission.ACCESS_TO_CARE,
    Mission.CARE_PATHWAYS,
    Mission.PREVENTION,
    Mission.QUALITY_RELEVANCE,
    Mission.PROFESSIONAL_SUPPORT,
)
TIERS = ("T1", "T2", "T3", "T4")


class Kind(StrEnum):
    QUANTITATIVE = "quantitative"
    QUALITATIVE = "qualitative"


class Direction(StrEnum):
    HIGHER = "higher"  # higher is better (patients found a médecin traitant...)
    LOWER = "lower"  # lower is better (share of ALD patients without a médecin traitant...)


class Evidence(StrEnum):
    DECLARATIVE = "declarative"  # the CPTS says so
    DOCUMENT = "document"  # a document received by the documents service
    SYSTEM_DATA = "system_data"  # an extract of an information system (Assurance maladie, SAS...)


@dataclass(frozen=True)
class Grade:
    code: str
    criterion: str


@dataclass(frozen=True)
class TierDefault:
    baseline: Decimal
    target: Decimal


@dataclass(frozen=True)
class Indicator:
    code: str
    mission: Mission
    name: str
    kind: Kind
    weight: Decimal
    evidence: frozenset[Evidence]
    unit: str | None = None
    direction: Direction | None = None
    baseline_rule: str | None = None
    defaults: dict[str, TierDefault] = field(default_factory=dict)
    grades: tuple[Grade, ...] = ()

    def grade_index(self, code: str) -> int | None:
        for index, grade in enumerate(self.grades):
            if grade.code == code:
                return index
        return None


@dataclass(frozen=True)
class Catalogue:
    version: str
    effective_year: int
    illustrative: bool
    label: str
    # Each maturity year (years since the ACI signature, up to ``max_growth_years``) raises the
    # default ambition by ``yearly_growth`` of the first year's gap between baseline and target.
    yearly_growth: Decimal
    max_growth_years: int
    # ARS/CPAM adjustments: a quantitative target within ± this share of its default; a
    # qualitative target at most ``grade_bound`` grades away from its default.
    adjustment_bound: Decimal
    grade_bound: int
    indicators: tuple[Indicator, ...]

    def indicator(self, code: str) -> Indicator | None:
        for indicator in self.indicators:
            if indicator.code == code:
                return indicator
        return None

    def of_mission(self, mission: Mission) -> list[Indicator]:
        return [i for i in self.indicators if i.mission is mission]


def problems(catalogue: Catalogue) -> list[tuple[str, str]]:
    """What makes a catalogue unusable, as (field, message) pairs; empty when it is sound."""
    found: list[tuple[str, str]] = []
    codes: set[str] = set()
    for index, indicator in enumerate(catalogue.indicators):
        where = f"indicators.{index}"
        if indicator.code in codes:
            found.append((f"{where}.code", f"{indicator.code} appears twice"))
        codes.add(indicator.code)
        if indicator.mission not in VARIABLE_MISSIONS:
            found.append((f"{where}.mission", f"{indicator.mission.value} has no variable part, hence no indicator"))
        if not Decimal(0) < indicator.weight <= Decimal(1):
            found.append((f"{where}.weight", "a weight is above 0 and at most 1"))
        if not indicator.evidence:
            found.append((f"{where}.evidence", "at least one kind of evidence"))
        if indicator.kind is Kind.QUANTITATIVE:
            if not indicator.unit or indicator.direction is None or not indicator.baseline_rule:
                found.append((where, "a quantitative indicator has a unit, a direction and a baseline rule"))
            if set(indicator.defaults) != set(TIERS):
                found.append((f"{where}.defaults", "a default baseline and target for each tier T1-T4"))
            for tier, default in indicator.defaults.items():
                gap = default.target - default.baseline
                if indicator.direction is Direction.HIGHER and gap <= 0:
                    found.append((f"{where}.defaults.{tier}", "higher is better: the target is above the baseline"))
                if indicator.direction is Direction.LOWER and gap >= 0:
                    found.append((f"{where}.defaults.{tier}", "lower is better: the target is below the baseline"))
            if indicator.grades:
                found.append((f"{where}.grades", "a quantitative indicator has no grades"))
        else:
            if len(indicator.grades) < 2:
                found.append((f"{where}.grades", "a qualitative indicator has at least two grades"))
            if len({g.code for g in indicator.grades}) != len(indicator.grades):
                found.append((f"{where}.grades", "each grade code appears once"))
            if indicator.defaults or indicator.direction or indicator.unit:
                found.append((where, "a qualitative indicator has grades, no unit, direction or numeric defaults"))
    for mission in VARIABLE_MISSIONS:
        weights = [i.weight for i in catalogue.of_mission(mission)]
        if not weights:
            found.append(("indicators", f"{mission.value} needs at least one indicator"))
        elif sum(weights) != Decimal(1):
            found.append(("indicators", f"the weights of {mission.value} add up to {sum(weights)}, not 1"))
    if not Decimal(0) <= catalogue.adjustment_bound < Decimal(1):
        found.append(("adjustment_bound", "a share from 0 to below 1"))
    if catalogue.grade_bound < 0:
        found.append(("grade_bound", "zero or more grades"))
    return found


def from_document(body: dict[str, Any]) -> Catalogue:
    """A catalogue from its JSON document (as loaded through the API or shipped in refdata/),
    already validated for shape by the API schema."""
    indicators = []
    for item in body["indicators"]:
        kind = Kind(item["kind"])
        indicators.append(
            Indicator(
                code=item["code"],
                mission=Mission(item["mission"]),
                name=item["name"],
                kind=kind,
                weight=Decimal(str(item["weight"])),
                evidence=frozenset(Evidence(e) for e in item["evidence"]),
                unit=item.get("unit"),
                direction=Direction(item["direction"]) if item.get("direction") else None,
                baseline_rule=item.get("baseline_rule"),
                defaults={
                    tier: TierDefault(Decimal(str(d["baseline"])), Decimal(str(d["target"])))
                    for tier, d in (item.get("defaults") or {}).items()
                },
                grades=tuple(Grade(g["code"], g["criterion"]) for g in item.get("grades") or ()),
            )
        )
    return Catalogue(
        version=body["version"],
        effective_year=int(body["effective_year"]),
        illustrative=bool(body["illustrative"]),
        label=body["label"],
        yearly_growth=Decimal(str(body["yearly_growth"])),
        max_growth_years=int(body["max_growth_years"]),
        adjustment_bound=Decimal(str(body["adjustment_bound"])),
        grade_bound=int(body["grade_bound"]),
        indicators=tuple(indicators),
    )


def shipped() -> dict[str, Any]:
    """The illustrative catalogue shipped with the service, as a JSON document."""
    text = resources.files("cpts_indicators.refdata").joinpath("catalogue_illustrative.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document
