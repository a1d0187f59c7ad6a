"""The CPTS lifecycle: intention letter → health project validated by the ARS → ACI signed
(→ suspended ↔ ACI signed) → dissolved. Only these transitions are allowed."""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class Status(StrEnum):
    INTENTION_LETTER_SIGNED = "intention_letter_signed"
    HEALTH_PROJECT_VALIDATED = "health_project_validated"
    ACI_SIGNED = "aci_signed"
    SUSPENDED = "suspended"
    DISSOLVED = "dissolved"


LABELS_FR = {
    Status.INTENTION_LETTER_SIGNED: "Lettre d'intention signée",
    Status.HEALTH_PROJECT_VALIDATED: "Projet de santé validé par l'ARS",
    Status.ACI_SIGNED: "ACI signé",
    Status.SUSPENDED: "Suspendue",
    Status.DISSOLVED: "Dissoute",
}

ALLOWED: dict[Status, tuple[Status, ...]] = {
    Status.INTENTION_LETTER_SIGNED: (Status.HEALTH_PROJECT_VALIDATED, Status.DISSOLVED),
    Status.HEALTH_PROJECT_VALIDATED: (Status.ACI_SIGNED, Status.DISSOLVED),
    Status.ACI_SIGNED: (Status.SUSPENDED, Status.DISSOLVED),
    Status.SUSPENDED: (Status.ACI_SIGNED, Status.DISSOLVED),
    Status.DISSOLVED: (),
}

# A CPTS covers its territory (coverage, overlaps) until it is dissolved.
ACTIVE = frozenset(set(Status) - {Status.DISSOLVED})

# The ACI contract lasts five years from its signature (tripartite CPTS / CPAM / ARS).
ACI_CONTRACT_YEARS = 5


class TransitionRefused(Exception):
    def __init__(self, message: str, allowed: tuple[Status, ...]) -> None:
        super().__init__(message)
        self.allowed = allowed


def check_transition(current: Status, target: Status, current_since: date, effective: date, today: date) -> None:
    allowed = ALLOWED[current]
    if target not in allowed:
        names = ", ".join(s.value for s in allowed) or "none (dissolved is final)"
        raise TransitionRefused(
            f"A CPTS in status {current.value} cannot go to {target.value}; allowed: {names}", allowed
        )
    if effective < current_since:
        raise TransitionRefused(
            f"The effective date {effective} is before the current status date {current_since}", allowed
        )
    if effective > today:
        raise TransitionRefused(f"The effective date {effective} is in the future", allowed)


def contract_anniversary(signed_on: date, year: int) -> date:
    """The contract's anniversary in ``year`` (29 February falls on 28 February)."""
    try:
        return signed_on.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def next_anniversary(signed_on: date, today: date) -> date:
    candidate = contract_anniversary(signed_on, today.year)
    return candidate if candidate > today else contract_anniversary(signed_on, today.year + 1)
