"""Request and response bodies of the public contract (``/v1``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cpts_documents.domain.completeness import AppliesTo, ItemStatus, OverallStatus
from cpts_documents.domain.types import DocumentType, Verdict
from cpts_documents.events.payloads import AccountsSummary, Issue, SpendingByMission
from cpts_kit.missions import Mission


class Validation(BaseModel):
    verdict: Verdict
    errors: list[Issue]
    warnings: list[Issue]
    error_count: int = Field(description="Every error, listed or not (lists stop at a configured length)")
    warning_count: int


class DocumentLinks(BaseModel):
    self: str
    content: str


class DocumentView(BaseModel):
    id: str
    cpts_id: str
    type: DocumentType
    fiscal_year: int
    version: int = Field(description="1, 2... per CPTS, type and fiscal year")
    is_current: bool = Field(description="False once a newer version replaced it (it is kept)")
    replaces: str | None
    superseded_at: datetime | None
    sha256: str
    size: int
    media_type: str = Field(description="What the bytes are (sniffed), not what the client said")
    format: str
    original_filename: str | None = Field(description="As sent, sanitised; metadata only, never a path")
    financial_part: bool | None = Field(description="Activity reports: whether the financial part is included")
    period_start: date | None
    period_end: date | None
    received_at: datetime
    uploaded_by_role: str
    validation: Validation
    stats: dict[str, Any] | None = Field(description="FEC: lines, entries, totals, separator, encoding...")
    links: DocumentLinks


class AccountsView(BaseModel):
    cpts_id: str
    fiscal_year: int
    document_id: str
    period_start: date | None
    period_end: date | None
    verdict: Verdict
    summary: AccountsSummary


class SpendingView(BaseModel):
    cpts_id: str
    fiscal_year: int
    document_id: str
    spending: SpendingByMission


Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,59}$")]


class RequirementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    label: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    accepted_types: list[DocumentType] = Field(min_length=1)
    deadline: date | None = Field(None, description="Overrides the set's deadline for this item")


class RequirementSetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deadline: date
    applies_to: AppliesTo = AppliesTo.ACI_SIGNATORIES
    items: list[RequirementIn] = Field(min_length=1, max_length=30)


class RequirementSetView(BaseModel):
    fiscal_year: int
    deadline: date
    applies_to: AppliesTo
    items: list[RequirementIn]
    default: bool = Field(description="True when no national role changed the default for this year")


class CompletenessItem(BaseModel):
    requirement: str
    label: str
    accepted_types: list[DocumentType]
    deadline: date
    status: ItemStatus
    overdue: bool
    document_id: str | None
    received_at: datetime | None
    received_after_deadline: bool
    reason: str | None


class CompletenessView(BaseModel):
    cpts_id: str
    name: str
    region: str
    departement: str
    fiscal_year: int
    status: OverallStatus
    items: list[CompletenessItem]


class OverdueCheckResult(BaseModel):
    as_of: date
    years: list[int]
    new_overdue_events: int


class ChartRuleView(BaseModel):
    prefix: str
    keywords: list[str]
    side: str
    category: str
    group: str
    label_fr: str


class MissionView(BaseModel):
    code: Mission
    label_fr: str
