"""Default targets from the CPTS's size tier and maturity, and the bounds of adjustments.

- Maturity: whole years since the first ACI signature (0 in the signature year).
- Quantitative default: the tier's baseline, and a target that grows with maturity (P6, P8):
  ``baseline + (tier target − baseline) × (1 + yearly_growth × min(maturity, max_growth_years))``,
  to the cent. Both directions work the same way (for "lower is better" the target is below
  the baseline and moves further down).
- Qualitative default: grade ``min(1 + maturity, highest)`` of the scale (grades worst first):
  the first year asks for the second grade, each year one more, up to the top.
- The ARS or the CPAM may adjust a target, with a written reason: a quantitative target stays
  within ± ``adjustment_bound`` of its default (never crossing the baseline), a qualitative one
  at most ``grade_bound`` grades away from its default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from cpts_indicators.domain.catalogue import Catalogue, Direction, Indicator, Kind

CENT = Decimal("0.01")


def maturity(first_signed: date | None, year: int) -> int:
    if first_signed is None or first_signed.year > year:
        return 0
    return year - first_signed.year


@dataclass(frozen=True)
class Target:
    """One indicator's target: a number (quantitative, with its baseline) or a grade."""

    indicator: str
    baseline: Decimal | None
    target: Decimal | None
    grade: str | None

    @property
    def shown(self) -> str:
        return self.grade if self.grade is not None else f"{self.target}"


def default_target(catalogue: Catalogue, indicator: Indicator, tier: str, years: int) -> Target:
    if indicator.kind is Kind.QUALITATIVE:
        index = min(1 + years, len(indicator.grades) - 1)
        return Target(indicator.code, None, None, indicator.grades[index].code)
    default = indicator.defaults[tier]
    growth = 1 + catalogue.yearly_growth * min(years, catalogue.max_growth_years)
    target = default.baseline + (default.target - default.baseline) * growth
    return Target(indicator.code, default.baseline, target.quantize(CENT, rounding=ROUND_HALF_EVEN), None)


def adjustment_problem(catalogue: Catalogue, indicator: Indicator, default: Target, wanted: Target) -> str | None:
    """Why ``wanted`` is outside the bounds around ``default`` (None when it is inside)."""
    if indicator.kind is Kind.QUALITATIVE:
        assert default.grade is not None and wanted.grade is not None
        at, wanted_at = indicator.grade_index(default.grade), indicator.grade_index(wanted.grade)
        assert at is not None
        if wanted_at is None:
            codes = ", ".join(g.code for g in indicator.grades)
            return f"{wanted.grade!r} is not a grade of {indicator.code} ({codes})"
        if abs(wanted_at - at) > catalogue.grade_bound:
            return f"at most {catalogue.grade_bound} grade(s) away from the default {default.grade!r}"
        return None
    assert default.target is not None and default.baseline is not None and wanted.target is not None
    spread = abs(default.target) * catalogue.adjustment_bound
    low, high = default.target - spread, default.target + spread
    if not low <= wanted.target <= high:
        return f"within ±{catalogue.adjustment_bound:.0%} of the default {default.target} ({low:.2f} to {high:.2f})"
    if indicator.direction is Direction.HIGHER and wanted.target <= default.baseline:
        return f"above the baseline {default.baseline} (higher is better)"
    if indicator.direction is Direction.LOWER and wanted.target >= default.baseline:
        return f"below the baseline {default.baseline} (lower is better)"
    return None
