"""Rules on one funding flow: its kind, what it does to the money paid, and the consistency
of its mission, part and dates. Corrections are new flows: a reversal (the opposite amount of
the flow it cancels) and, if needed, a replacement; nothing is ever edited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum

from cpts_funding.domain.categories import FunderCategory
from cpts_funding.domain.missions import Part
from cpts_kit.missions import CONVENTIONAL, Mission


class FlowKind(StrEnum):
    ALLOCATION = "allocation"  # allocation or commitment: the amount notified
    PAYMENT = "payment"
    RECOVERY = "recovery"  # money taken back


# ACI money of these kinds goes only to a CPTS whose status is aci_signed at the flow's date.
ACI_GATED_KINDS = frozenset({FlowKind.ALLOCATION, FlowKind.PAYMENT})

# A flow's date may fall from the year before its fiscal year (an advance) to two years after
# it (a balance, the variable part after the assessment, a recovery).
YEARS_BEFORE, YEARS_AFTER = 1, 2


def paid_effect(kind: FlowKind, amount: Decimal) -> Decimal:
    """What the flow adds to the money the CPTS actually received."""
    if kind is FlowKind.PAYMENT:
        return amount
    if kind is FlowKind.RECOVERY:
        return -amount
    return Decimal("0.00")


def part_problem(mission: Mission, part: Part, category: FunderCategory, kind: FlowKind) -> str | None:
    if mission not in CONVENTIONAL and part is not Part.NOT_APPLICABLE:
        return f"money for {mission.value} has no fixed or variable part: use not_applicable"
    if (
        category is FunderCategory.ACI
        and kind is not FlowKind.ALLOCATION
        and mission in CONVENTIONAL
        and part is Part.NOT_APPLICABLE
    ):
        return "ACI mission money is either the fixed or the variable part"
    return None


def date_problem(fiscal_year: int, on: date) -> str | None:
    if not (fiscal_year - YEARS_BEFORE <= on.year <= fiscal_year + YEARS_AFTER):
        return (
            f"a flow of fiscal year {fiscal_year} is dated between {fiscal_year - YEARS_BEFORE} "
            f"and {fiscal_year + YEARS_AFTER}"
        )
    return None
