"""What each CPTS owes for a fiscal year, by when, and where it stands.

A requirement set (one per fiscal year, configurable by the national roles) lists items; an
item is met by a current document of one of its accepted types. Default (Senate proposal 9):
the accounts (a FEC or a compte de résultat), the bilan, the activity report with its
financial part and the spending statement per mission, due on 30 June of the following year,
owed by every CPTS that signed the ACI by the end of the fiscal year and was not dissolved
before it began.

An item is ``received`` (an acceptable document: not rejected, and for an activity report its
financial part), ``incomplete`` (only unacceptable documents: a rejected FEC, an activity
report without its financial part), ``missing`` (nothing, deadline not passed) or ``late``
(nothing, deadline passed). It is overdue when its deadline has passed and it is not received.
The CPTS-year is ``complete`` when every item is received, else ``late``, ``incomplete`` or
``missing``, the first that applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from cpts_documents.domain.types import DocumentType, Verdict


class ItemStatus(StrEnum):
    RECEIVED = "received"
    INCOMPLETE = "incomplete"
    MISSING = "missing"
    LATE = "late"


class OverallStatus(StrEnum):
    COMPLETE = "complete"
    LATE = "late"
    INCOMPLETE = "incomplete"
    MISSING = "missing"


class AppliesTo(StrEnum):
    ACI_SIGNATORIES = "aci_signatories"
    ALL = "all"


@dataclass(frozen=True)
class Requirement:
    code: str
    label: str
    accepted_types: tuple[DocumentType, ...]
    deadline: date | None = None  # overrides the set's deadline


@dataclass(frozen=True)
class RequirementSet:
    fiscal_year: int
    deadline: date
    items: tuple[Requirement, ...]
    applies_to: AppliesTo = AppliesTo.ACI_SIGNATORIES

    def deadline_of(self, item: Requirement) -> date:
        return item.deadline or self.deadline


def default_deadline(year: int) -> date:
    return date(year + 1, 6, 30)


def default_requirements(year: int) -> RequirementSet:
    return RequirementSet(
        fiscal_year=year,
        deadline=default_deadline(year),
        items=(
            Requirement("accounts", "FEC ou compte de résultat", (DocumentType.FEC, DocumentType.INCOME_STATEMENT)),
            Requirement("balance_sheet", "Bilan", (DocumentType.BALANCE_SHEET,)),
            Requirement(
                "activity_report", "Rapport d'activité avec sa partie financière", (DocumentType.ACTIVITY_REPORT,)
            ),
            Requirement("spending_statement", "État des dépenses par mission", (DocumentType.SPENDING_STATEMENT,)),
        ),
    )


@dataclass(frozen=True)
class HeldDocument:
    """A current document of the CPTS for the year, as completeness sees it."""

    document_id: str
    type: DocumentType
    verdict: Verdict
    financial_part: bool | None
    received_at: datetime
    error_count: int = 0


@dataclass(frozen=True)
class CptsStanding:
    """What completeness needs of a CPTS."""

    status: str
    status_since: date | None
    aci_signed_on: date | None


@dataclass(frozen=True)
class ItemState:
    requirement: Requirement
    deadline: date
    status: ItemStatus
    overdue: bool
    document: HeldDocument | None
    received_after_deadline: bool
    reason: str | None


def owes(cpts: CptsStanding, requirements: RequirementSet) -> bool:
    year = requirements.fiscal_year
    if cpts.status == "dissolved" and cpts.status_since is not None and cpts.status_since < date(year, 1, 1):
        return False
    if requirements.applies_to is AppliesTo.ALL:
        return True
    return cpts.aci_signed_on is not None and cpts.aci_signed_on <= date(year, 12, 31)


def unacceptable_reason(document: HeldDocument) -> str | None:
    if document.verdict is Verdict.REJECTED:
        return f"the {document.type.value} was rejected ({document.error_count} errors)"
    if document.type is DocumentType.ACTIVITY_REPORT and not document.financial_part:
        return "the activity report was sent without its financial part"
    return None


def evaluate(requirements: RequirementSet, documents: Sequence[HeldDocument], today: date) -> list[ItemState]:
    states = []
    for item in requirements.items:
        deadline = requirements.deadline_of(item)
        candidates = sorted(
            (d for d in documents if d.type in item.accepted_types), key=lambda d: d.received_at, reverse=True
        )
        good = [d for d in candidates if unacceptable_reason(d) is None]
        document: HeldDocument | None
        reason: str | None = None
        if good:
            document = min(good, key=lambda d: d.received_at)  # the first acceptable one counts for the date
            status = ItemStatus.RECEIVED
        elif candidates:
            document = candidates[0]
            status = ItemStatus.INCOMPLETE
            reason = unacceptable_reason(document)
        else:
            document = None
            status = ItemStatus.LATE if today > deadline else ItemStatus.MISSING
            reason = f"nothing received (due {deadline.isoformat()})"
        late_receipt = document is not None and status is ItemStatus.RECEIVED and document.received_at.date() > deadline
        states.append(
            ItemState(
                requirement=item,
                deadline=deadline,
                status=status,
                overdue=today > deadline and status is not ItemStatus.RECEIVED,
                document=document,
                received_after_deadline=late_receipt,
                reason=reason,
            )
        )
    return states


def overall(states: Sequence[ItemState]) -> OverallStatus:
    statuses = {s.status for s in states}
    if statuses <= {ItemStatus.RECEIVED}:
        return OverallStatus.COMPLETE
    if ItemStatus.LATE in statuses:
        return OverallStatus.LATE
    if ItemStatus.INCOMPLETE in statuses:
        return OverallStatus.INCOMPLETE
    return OverallStatus.MISSING
