"""The risk score of a CPTS: the sum of the points of its findings still to be handled, each
point documented, so the score explains itself (the contributions are listed)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from cpts_audit.domain.findings import Severity

# Points by severity, and a bonus for the money at stake (one point per 10,000 €, at most 10):
# a high finding outweighs any number of small amounts, a large amount raises it further.
SEVERITY_POINTS = {Severity.LOW: 1, Severity.MEDIUM: 5, Severity.HIGH: 20}
AMOUNT_STEP = Decimal("10000")
AMOUNT_POINTS_MAX = 10
WEIGHTS_VERSION = "2026-1"


@dataclass(frozen=True)
class Contribution:
    finding_id: str
    rule: str
    severity: Severity
    amount: Decimal
    points: int


def points(severity: Severity, amount: Decimal) -> int:
    bonus = min(int(abs(amount) // AMOUNT_STEP), AMOUNT_POINTS_MAX)
    return SEVERITY_POINTS[severity] + bonus


def score(contributions: list[Contribution]) -> int:
    return sum(c.points for c in contributions)
