"""Other services' events as the audit reads them: which fact each one sets (a tolerant reader:
only the fields used, extra fields ignored), after ``contracts/events/`` and the cross-service
contracts of this round. The audit never imports another service's code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TOPICS = ("cpts.registry.events", "cpts.funding.events", "cpts.documents.events", "cpts.indicators.events")
GROUP_ID = "audit.projections"


@dataclass(frozen=True)
class FactKey:
    kind: str
    key: str
    year: int | None
    merge: bool = False  # merge into the known payload instead of replacing it


def _year(data: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = data.get(name)
        if isinstance(value, int):
            return value
    return None


def fact_key(event_type: str, data: dict[str, Any]) -> FactKey | None:
    """The fact an event sets, or None when the audit does not project it."""
    cpts = str(data.get("cpts_id", ""))
    year = _year(data, "fiscal_year", "year")
    name = event_type.removeprefix("fr.cpts.").rsplit(".", 1)[0]
    match name:
        case (
            "registry.cpts.registered"
            | "registry.cpts.updated"
            | "registry.cpts.status_changed"
            | "registry.territory.updated"
        ):
            return FactKey("cpts", cpts, None, merge=True)
        case "registry.members.reported":
            return FactKey("members", f"{cpts}:{year}", year)
        case "funding.payment.recorded" | "funding.recovery.recorded":
            return FactKey("flow", str(data.get("flow_id", "")), year)
        case "funding.declaration.submitted":
            return FactKey("declaration", f"{cpts}:{year}", year)
        case "funding.envelope.computed":
            return FactKey("envelope", f"{cpts}:{year}", year)
        case "funding.envelope.over_maximum":
            return FactKey("over_maximum", f"{cpts}:{year}", year)
        case "documents.accounts.summarised":
            return FactKey("accounts", f"{cpts}:{year}", year)
        case "documents.spending_statement.received":
            return FactKey("spending", f"{cpts}:{year}", year)
        case "documents.document.received":
            return FactKey("document", str(data.get("document_id", "")), year)
        case "documents.document.rejected":
            return FactKey("rejected", str(data.get("document_id", "")), year)
        case "documents.document.overdue":
            return FactKey("overdue", f"{cpts}:{year}:{data.get('requirement', '')}", year)
        case "indicators.activity.assessed":
            return FactKey("activity", f"{cpts}:{year}", year)
        case "indicators.dialogue.held":
            return FactKey("dialogue", str(data.get("dialogue_id", "")), year)
        case "indicators.achievement.computed":
            return FactKey("achievement", f"{cpts}:{year}", year)
    return None


def replaces(kind: str, known: dict[str, Any], new: dict[str, Any]) -> bool:
    """A declaration is replaced only by a later version (events of one CPTS stay ordered,
    but a replay may bring an older version after a newer one was projected)."""
    if kind == "declaration":
        return int(new.get("version", 0)) >= int(known.get("version", 0))
    return True
