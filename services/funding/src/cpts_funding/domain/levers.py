"""Policy levers an administrator sets per fiscal year (Senate proposals P3, P4, P6):

- ``functioning_reduction``: functioning credits reduced progressively with maturity (years
  since the ACI signature): steps ``(from_maturity, reduction)``, the step with the highest
  ``from_maturity`` at or below the CPTS's maturity applies (no step: no reduction).
- ``variable_share``: a larger variable part: each mission that has indicators (a variable
  maximum above zero) keeps its fixed + variable total, of which this share becomes variable.
  Missions without indicators (the crisis mission) and the SNP compensation stay fixed.
- ``fungibility_share`` and ``fungibility_national_cap``: a CPTS may move up to this share of
  its year's mission envelope from one mission's fixed part to another's; all accepted moves
  of the year, nationally, stay within the cap (in euros) when one is set. No share: closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ReductionStep:
    from_maturity: int
    reduction: Decimal


@dataclass(frozen=True)
class PolicyLevers:
    year: int
    functioning_reduction: tuple[ReductionStep, ...] = ()
    variable_share: Decimal | None = None
    fungibility_share: Decimal | None = None
    fungibility_national_cap: Decimal | None = None

    def reduction_for(self, maturity: int) -> Decimal:
        applicable = [s for s in self.functioning_reduction if s.from_maturity <= maturity]
        if not applicable:
            return Decimal(0)
        return max(applicable, key=lambda s: s.from_maturity).reduction

    @property
    def fungibility_open(self) -> bool:
        return self.fungibility_share is not None and self.fungibility_share > 0


def neutral(year: int) -> PolicyLevers:
    """No lever set: the ACI parameters apply as they are."""
    return PolicyLevers(year=year)


def lever_problems(levers: PolicyLevers) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    maturities = [s.from_maturity for s in levers.functioning_reduction]
    if len(set(maturities)) != len(maturities):
        problems.append(("functioning_reduction", "each from_maturity appears once"))
    for index, step in enumerate(levers.functioning_reduction):
        if step.from_maturity < 0:
            problems.append((f"functioning_reduction.{index}.from_maturity", "zero or more years"))
    if levers.fungibility_national_cap is not None and levers.fungibility_national_cap < 0:
        problems.append(("fungibility_national_cap", "zero or more euros"))
    return problems
