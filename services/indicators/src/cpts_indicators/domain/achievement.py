"""Achievement of an indicator, of a mission, and the variable part earned.

Per indicator (the measurement that counts is the one with the latest period in the year,
then the latest recorded):

- quantitative: ``rate = (value − baseline) / (target − baseline)``, kept within 0–1. The same
  formula serves both directions: for "lower is better" target and baseline are reversed.
- qualitative: ``rate = position of the grade reached / position of the target grade`` on the
  scale (worst grade = 0), at most 1; a target at the lowest grade is met by any grade.
- no measurement: rate 0.

Evidence weighting (the documented rule): a measurement backed by a document received by the
documents service or by an information-system extract counts in full; a declarative-only
measurement counts for half (``counted = rate × 0.5``), whatever its value.

Per mission: the weighted mean of the counted rates of the targeted indicators, with the
catalogue weights renormalised over the indicators targeted
(``Σ weight × counted / Σ weight``), rounded half-even to four decimals. The variable part
earned is the envelope's ``variable_max`` for the mission × that rounded rate, to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from cpts_indicators.domain.catalogue import Evidence, Indicator, Kind
from cpts_indicators.domain.targets import CENT, Target
from cpts_kit.missions import Mission

RATE = Decimal("0.0001")
ZERO = Decimal(0)
ONE = Decimal(1)
EVIDENCE_FACTOR: dict[Evidence, Decimal] = {
    Evidence.SYSTEM_DATA: ONE,
    Evidence.DOCUMENT: ONE,
    Evidence.DECLARATIVE: Decimal("0.5"),
}


def rate4(value: Decimal) -> Decimal:
    return value.quantize(RATE, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Measured:
    """The measurement that counts for an indicator in the year."""

    value: str
    evidence: Evidence


@dataclass(frozen=True)
class IndicatorResult:
    indicator: str
    mission: Mission
    weight: Decimal
    value: str | None
    target: str
    rate: Decimal
    evidence: Evidence | None
    factor: Decimal
    counted: Decimal
    how: str


@dataclass(frozen=True)
class MissionResult:
    mission: Mission
    rate: Decimal
    indicators_count: int
    variable_maximum: Decimal | None
    variable_earned: Decimal | None


def clamp(value: Decimal) -> Decimal:
    return max(ZERO, min(ONE, value))


def indicator_rate(indicator: Indicator, target: Target, value: str) -> tuple[Decimal, str]:
    if indicator.kind is Kind.QUALITATIVE:
        assert target.grade is not None
        reached, wanted = indicator.grade_index(value), indicator.grade_index(target.grade)
        assert reached is not None and wanted is not None
        if wanted == 0:
            return ONE, f"target {target.grade!r} is the lowest grade: met"
        rate = clamp(Decimal(reached) / Decimal(wanted))
        return rate, f"grade {value!r} (position {reached}) / target {target.grade!r} (position {wanted})"
    assert target.target is not None and target.baseline is not None
    number = Decimal(value)
    rate = clamp((number - target.baseline) / (target.target - target.baseline))
    return rate, f"({number} − {target.baseline}) / ({target.target} − {target.baseline}), within 0–1"


def assess_indicator(indicator: Indicator, target: Target, measured: Measured | None) -> IndicatorResult:
    if measured is None:
        return IndicatorResult(
            indicator.code, indicator.mission, indicator.weight, None, target.shown, ZERO, None, ZERO, ZERO,
            "no measurement in the year: 0",
        )  # fmt: skip
    rate, how = indicator_rate(indicator, target, measured.value)
    factor = EVIDENCE_FACTOR[measured.evidence]
    if factor != ONE:
        how += f"; {measured.evidence.value} evidence only: counts × {factor}"
    return IndicatorResult(
        indicator.code,
        indicator.mission,
        indicator.weight,
        measured.value,
        target.shown,
        rate4(rate),
        measured.evidence,
        factor,
        rate4(rate * factor),
        how,
    )


def mission_rate(results: list[IndicatorResult]) -> Decimal:
    weights = sum((r.weight for r in results), ZERO)
    if not results or weights == 0:
        return rate4(ZERO)
    # From the counted rates as shown (four decimals), so that anyone can redo the sum.
    return rate4(sum((r.weight * r.counted for r in results), ZERO) / weights)


def variable_earned(variable_maximum: Decimal | None, rate: Decimal) -> Decimal | None:
    if variable_maximum is None:
        return None
    return (variable_maximum * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)


def declarative_share(strengths: list[Evidence]) -> Decimal | None:
    """The share of measurements backed by a declaration only (None without measurement)."""
    if not strengths:
        return None
    return rate4(Decimal(sum(1 for s in strengths if s is Evidence.DECLARATIVE)) / Decimal(len(strengths)))
