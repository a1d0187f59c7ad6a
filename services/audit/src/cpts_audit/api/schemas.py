"""Request and response bodies of the audit API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from cpts_audit.domain.findings import Severity, Status
from cpts_kit.money import Money


class EvidenceView(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str = Field(description="event, flow, declaration, document, fec_line, envelope, requirement")
    id: str


class TransitionView(BaseModel):
    from_status: Status
    to_status: Status
    author: str
    role: str
    reason: str
    by_audit: bool
    at: datetime


class FindingView(BaseModel):
    id: str
    rule: str
    cpts_id: str
    region: str
    departement: str
    fiscal_year: int
    severity: Severity
    amount: Money = Field(description="The money at stake")
    explanation: str = Field(description="In French, for a controller")
    evidence: list[EvidenceView]
    status: Status
    parameters_version: str
    first_seen: datetime
    updated_at: datetime
    allowed_transitions: list[Status]
    history: list[TransitionView] | None = Field(default=None, description="Only on GET /v1/findings/{id}")


class FindingPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status = Field(description="acknowledged, resolved or dismissed")
    reason: str = Field(min_length=3, max_length=2000, description="Why (required at every step)")


class SummaryRow(BaseModel):
    rule: str
    severity: Severity
    status: Status
    count: int
    amount: Money


class SummaryView(BaseModel):
    items: list[SummaryRow]
    total: int


class ContributionView(BaseModel):
    rule: str
    finding_id: str
    severity: Severity
    amount: Money
    points: int


class RiskView(BaseModel):
    cpts_id: str
    name: str
    region: str
    departement: str
    score: int
    open_findings: int
    weights_version: str
    weights: dict[str, Any] = Field(description="Points by severity, and the amount bonus")
    contributions: list[ContributionView]


class RankedCpts(BaseModel):
    cpts_id: str
    name: str
    region: str
    departement: str
    score: int
    open_findings: int
    updated_at: datetime


class MissionReportLine(BaseModel):
    mission: str
    theoretical: Money = Field(description="Sum of the ACI envelopes' amounts for the mission")
    aci_paid: Money = Field(description="ACI paid minus recovered for the mission")
    spent: Money = Field(description="Spent according to the spending statements received")
    paid_share_of_theoretical: str | None = Field(description="aci_paid / theoretical, four decimals")
    spent_share_of_paid: str | None = Field(description="spent / aci_paid, four decimals")
    cpts_with_spending: int


class MissionReport(BaseModel):
    year: int
    region: str | None
    departement: str | None
    cpts_with_envelope: int
    cpts_with_spending_statement: int
    missions: list[MissionReportLine]


class ParameterVersionView(BaseModel):
    version: str
    effective_from: str
    values: dict[str, Any]
    note: str


class RuleView(BaseModel):
    id: str
    title: str
    rationale: str
    parameters: list[ParameterVersionView]


class ReplayView(BaseModel):
    events_read: int
    events_projected: int
    findings_raised: int
    findings_updated: int
    findings_closed: int
    findings_unchanged: int
    findings_total: int
