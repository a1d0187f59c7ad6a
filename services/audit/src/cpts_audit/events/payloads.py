"""Payloads of the audit's CloudEvents (topic ``cpts.audit.events``, key = CPTS id). Each
carries the CPTS id, region and département so that integrators can scope what they read."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cpts_audit.domain.findings import Severity, Status
from cpts_kit.events import EventPayload
from cpts_kit.money import Money


class FindingData(EventPayload):
    finding_id: str
    rule: str
    cpts_id: str
    region: str
    departement: str
    fiscal_year: int
    severity: Severity
    amount: Money = Field(description="The money at stake")
    explanation: str
    evidence: list[dict[str, Any]] = Field(description="Event, flow, declaration, document ids; FEC lines and labels")
    status: Status
    parameters_version: str
    first_seen: datetime
    updated_at: datetime


class FindingRaised(FindingData):
    """A rule found something new (or something closed came back)."""

    event_type: ClassVar[str] = "fr.cpts.audit.finding.raised.v1"


class FindingUpdated(FindingData):
    """The facts changed: the finding's amount, severity, explanation or evidence changed."""

    event_type: ClassVar[str] = "fr.cpts.audit.finding.updated.v1"


class FindingClosed(FindingData):
    """The facts no longer support the finding (a document arrived, a declaration was fixed)."""

    event_type: ClassVar[str] = "fr.cpts.audit.finding.closed.v1"


class FindingStatusChanged(EventPayload):
    """A controller moved the finding in its workflow (with the reason)."""

    event_type: ClassVar[str] = "fr.cpts.audit.finding.status_changed.v1"
    finding_id: str
    rule: str
    cpts_id: str
    region: str
    departement: str
    fiscal_year: int
    from_status: Status
    to_status: Status
    reason: str
    author: str
    author_role: str
    at: datetime


class RiskContributionData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    finding_id: str
    rule: str
    severity: Severity
    amount: Money
    points: int


class RiskChanged(EventPayload):
    """The risk score of a CPTS changed (its open findings changed)."""

    event_type: ClassVar[str] = "fr.cpts.audit.risk.changed.v1"
    cpts_id: str
    region: str
    departement: str
    score: int
    previous_score: int
    open_findings: int
    weights_version: str
    contributions: list[RiskContributionData]


ALL_PAYLOADS: list[type[EventPayload]] = [
    FindingRaised,
    FindingUpdated,
    FindingClosed,
    FindingStatusChanged,
    RiskChanged,
]
