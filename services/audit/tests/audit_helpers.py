"""Helpers of the audit tests (a module name unique across the repository): the kit's API client
with a ``project`` helper, and other services' events built after their published contracts
(each payload is checked against its JSON Schema in contracts/events when the producer
published one)."""

from __future__ import annotations

import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from cpts_audit import commands
from cpts_audit.events.projection import apply_event
from cpts_audit.settings import AuditSettings
from cpts_kit import testing
from cpts_kit.db import Database
from cpts_kit.events import CloudEvent
from cpts_kit.testing import UNREACHABLE

REPO = Path(__file__).resolve().parents[3]
CONTRACTS = REPO / "contracts" / "events"

# Two CPTS: one in Corse-du-Sud (region 94), one in Paris (region 11).
CORSE_ID = "11111111-1111-4111-8111-111111111111"
PARIS_ID = "22222222-2222-4222-8222-222222222222"
PLACES = {CORSE_ID: ("94", "2A"), PARIS_ID: ("11", "75")}


def make_settings(database_url: str, state_dir: Path, bootstrap: str = UNREACHABLE, **extra: Any) -> AuditSettings:
    """The kit's test settings, with an evaluator that runs often."""
    return testing.make_settings(
        AuditSettings, database_url, state_dir, bootstrap, **{"evaluation_interval_seconds": 0.1, **extra}
    )


@cache
def _schema(event_type: str) -> dict[str, Any] | None:
    service = event_type.split(".")[2]
    path = CONTRACTS / service / f"{event_type}.json"
    return json.loads(path.read_text()) if path.exists() else None


def event(event_type: str, data: dict[str, Any]) -> CloudEvent:
    """A CloudEvent of another service; its payload must match the published schema."""
    schema = _schema(event_type)
    if schema is not None:
        jsonschema.validate(data, schema)
    service = event_type.split(".")[2]
    return CloudEvent(
        id=str(uuid.uuid4()), source=f"/cpts/{service}", type=event_type, subject=data["cpts_id"], data=data
    )


def _place(cpts_id: str) -> dict[str, str]:
    region, departement = PLACES.get(cpts_id, ("94", "2A"))
    return {"cpts_id": cpts_id, "region": region, "departement": departement}


def registered(
    cpts_id: str, name: str = "CPTS du Pays Ajaccien", aci_signed_on: str | None = "2022-03-01"
) -> CloudEvent:
    return event(
        "fr.cpts.registry.cpts.registered.v1",
        {
            **_place(cpts_id),
            "name": name,
            "siren": "732829320",
            "siret": None,
            "finess": None,
            "legal_form": "association_1901",
            "status": "aci_signed" if aci_signed_on else "intention_letter_signed",
            "status_since": aci_signed_on or "2021-03-01",
            "aci_signed_on": aci_signed_on,
            "attachment_ars": "ARS",
            "attachment_cpam": "CPAM",
            "communes": ["2A004"],
            "population": 90000,
            "size_tier": "T3",
        },
    )


def members(cpts_id: str, year: int, total: int) -> CloudEvent:
    return event(
        "fr.cpts.registry.members.reported.v1",
        {**_place(cpts_id), "year": year, "counts": {"infirmier": total}, "total": total},
    )


def flow(
    cpts_id: str,
    category: str,
    amount: str,
    *,
    year: int = 2023,
    mission: str = "functioning",
    on: str | None = None,
    kind: str = "payment",
    funder: str = "Caisse primaire",
    flow_id: str | None = None,
) -> CloudEvent:
    types = {
        "payment": "fr.cpts.funding.payment.recorded.v1",
        "recovery": "fr.cpts.funding.recovery.recorded.v1",
        "allocation": "fr.cpts.funding.allocation.notified.v1",
    }
    return event(
        types[kind],
        {
            "flow_id": flow_id or str(uuid.uuid4()),
            **_place(cpts_id),
            "kind": kind,
            "funder_id": str(uuid.uuid5(uuid.NAMESPACE_URL, funder)),
            "funder_name": funder,
            "funder_siren": None,
            "funder_category": category,
            "fiscal_year": year,
            "mission": mission,
            "part": "not_applicable",
            "amount": amount,
            "date": on or f"{year}-03-15",
            "funder_reference": "REF",
            "reverses": None,
        },
    )


def declaration(
    cpts_id: str, sources: list[tuple[str, str, str | None]], *, year: int = 2023, version: int = 1
) -> CloudEvent:
    total = sum(float(a) for _, a, _ in sources)  # display only; the contract's total is a string
    return event(
        "fr.cpts.funding.declaration.submitted.v1",
        {
            "declaration_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cpts_id}{year}{version}")),
            **_place(cpts_id),
            "fiscal_year": year,
            "version": version,
            "sources": [
                {"category": c, "funder_id": None, "funder_name": n, "funder_siren": None, "amount": a}
                for c, a, n in sources
            ],
            "total": f"{total:.2f}",
        },
    )


def envelope(cpts_id: str, maximum: str, *, year: int = 2023, lines: dict[str, str] | None = None) -> CloudEvent:
    lines = lines or {"prevention": "20000.00"}
    return event(
        "fr.cpts.funding.envelope.computed.v1",
        {
            **_place(cpts_id),
            "year": year,
            "parameters_version": "illustrative-2019",
            "illustrative": True,
            "size_tier": "T3",
            "population": 90000,
            "maturity": 2,
            "aci_days": 365,
            "functioning": "75000.00",
            "lines": [
                {
                    "mission": m,
                    "fixed": a,
                    "snp_compensation": "0.00",
                    "variable_max": "0.00",
                    "achievement": None,
                    "variable_earned": "0.00",
                    "reallocated": "0.00",
                }
                for m, a in lines.items()
            ],
            "maximum": maximum,
            "theoretical": maximum,
        },
    )


def flagged(line: int, account: str, label: str, amount: str, *reasons: str) -> dict[str, Any]:
    return {
        "line": line,
        "account": account,
        "label": label,
        "amount": amount,
        "reason": reasons[0],
        "reasons": list(reasons),
        "keywords": [],
    }


def accounts(
    cpts_id: str,
    revenue: dict[str, str],
    *,
    year: int = 2023,
    expenses: str = "120000.00",
    reserves: str = "20000.00",
    cash: str = "25000.00",
    real_estate: str = "0.00",
    flags: list[dict[str, Any]] | None = None,
    document_id: str | None = None,
) -> CloudEvent:
    flags = flags or []
    revenue_total = sum(float(v) for v in revenue.values())
    by_reason: dict[str, int] = {}
    for f in flags:
        for r in f["reasons"]:
            by_reason[r] = by_reason.get(r, 0) + 1
    money0 = "0.00"
    return event(
        "fr.cpts.documents.accounts.summarised.v1",
        {
            "document_id": document_id or str(uuid.uuid4()),
            **_place(cpts_id),
            "fiscal_year": year,
            "period_start": f"{year}-01-01",
            "period_end": f"{year}-12-31",
            "summary": {
                "revenue_total": f"{revenue_total:.2f}",
                "expense_total": expenses,
                "result": f"{revenue_total - float(expenses):.2f}",
                "revenue_by_category": revenue,
                "revenue_by_group": {},
                "expense_by_category": {"salaries": expenses},
                "balance_sheet": {},
                "reserves": {
                    "reserves": reserves,
                    "retained_earnings": money0,
                    "own_funds": money0,
                    "dedicated_funds": money0,
                    "deferred_income": money0,
                    "dedicated_funds_allocated": money0,
                    "dedicated_funds_used": money0,
                    "cash": cash,
                    "available_reserves": reserves,
                    "months_of_expenses_in_cash": None,
                    "months_of_expenses_in_reserves": None,
                },
                "fixed_asset_purchases": {"total": real_estate, "real_estate": real_estate, "by_category": {}},
                "in_kind": {},
                "flagged_entries": flags,
                "flagged_count": len(flags),
                "flags_by_reason": by_reason,
            },
        },
    )


def document_received(
    cpts_id: str, doc_type: str, *, year: int = 2023, financial_part: bool | None = None, verdict: str = "accepted"
) -> CloudEvent:
    return event(
        "fr.cpts.documents.document.received.v1",
        {
            "document_id": str(uuid.uuid4()),
            **_place(cpts_id),
            "type": doc_type,
            "fiscal_year": year,
            "version": 1,
            "replaces": None,
            "sha256": "0" * 64,
            "size": 10,
            "media_type": "application/pdf",
            "financial_part": financial_part,
            "verdict": verdict,
            "error_count": 0,
            "warning_count": 0,
            "received_at": f"{year + 1}-03-01T10:00:00Z",
        },
    )


def overdue(cpts_id: str, *, year: int = 2023, types: tuple[str, ...] = ("fec",)) -> CloudEvent:
    return event(
        "fr.cpts.documents.document.overdue.v1",
        {
            **_place(cpts_id),
            "fiscal_year": year,
            "requirement": "accounts",
            "label": "Comptes annuels (FEC)",
            "accepted_types": list(types),
            "deadline": f"{year + 1}-06-30",
            "status": "late",
            "reason": None,
            "as_of": f"{year + 1}-07-01",
        },
    )


async def project(db: Database, settings: AuditSettings, events: list[CloudEvent]) -> commands.Outcome:
    """Apply events with the consumer's handler (one transaction each, as the consumer does),
    then run the evaluator once."""
    for item in events:
        async with db.sessionmaker() as session:
            await apply_event(session, item)
            await session.commit()
    async with db.sessionmaker() as session:
        outcome = await commands.evaluate_dirty(session, settings)
        await session.commit()
    return outcome


class Api(testing.Api):
    """The kit's client, and the audit's way of learning facts: other services' events."""

    settings: AuditSettings
    db: Database

    async def project(self, events: list[CloudEvent]) -> commands.Outcome:
        return await project(self.db, self.settings, events)
