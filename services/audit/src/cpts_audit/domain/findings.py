"""A finding as a rule proposes it (a candidate), its deterministic id, and the workflow."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

# Ids derive from what the finding is about, so re-running a rule on the same facts (or a
# replay from offset zero) finds the same finding, never a second one.
NAMESPACE = uuid.UUID("6f1c1f8e-6a0b-5b1e-9c7d-0a5e2d1c3b4f")


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"
    CLOSED = "closed"  # the facts no longer support it (closed by the audit itself)


# Workflow of the people who handle findings (auditors, ARS, CPAM). A closed finding that the
# facts support again reopens by itself.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.OPEN: frozenset({Status.ACKNOWLEDGED, Status.DISMISSED}),
    Status.ACKNOWLEDGED: frozenset({Status.RESOLVED, Status.DISMISSED}),
    Status.RESOLVED: frozenset(),
    Status.DISMISSED: frozenset(),
    Status.CLOSED: frozenset(),
}

# What counts towards the risk score: findings still to be handled.
ACTIVE = frozenset({Status.OPEN, Status.ACKNOWLEDGED})


def allowed_transitions(status: Status) -> list[str]:
    return sorted(s.value for s in TRANSITIONS[status])


@dataclass(frozen=True)
class Evidence:
    kind: str  # event, flow, declaration, document, fec_line, envelope
    id: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, **self.detail}


@dataclass(frozen=True)
class Candidate:
    """What a rule found for a CPTS and year; ``key`` tells findings of one rule apart."""

    fiscal_year: int
    key: str
    severity: Severity
    amount: Decimal
    explanation: str
    evidence: tuple[Evidence, ...]


def finding_id(rule: str, cpts_id: str, fiscal_year: int, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{rule}|{cpts_id}|{fiscal_year}|{key}"))


def euros(amount: Decimal) -> str:
    """An amount as a French reader writes it: 12 500,00 €."""
    text = f"{amount.quantize(Decimal('0.01')):,.2f}"
    return text.replace(",", "\u202f").replace(".", ",") + " €"
