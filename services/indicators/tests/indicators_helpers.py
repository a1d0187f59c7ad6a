"""Helpers of the indicators tests (a module name unique across the repository): the kit's
test client with the indicators' own helpers, settings, and events shaped like the registry's,
funding's and documents' (after contracts/events/ and the contracts of this round), applied
through the real handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from cpts_indicators.events.projection import (
    DOCUMENTS_GROUP,
    FUNDING_GROUP,
    REGISTRY_GROUP,
    apply_documents_event,
    apply_registry_event,
    funding_handler,
)
from cpts_indicators.events.sources import DOCUMENTS_TOPIC, FUNDING_TOPIC, REGISTRY_TOPIC
from cpts_indicators.settings import IndicatorsSettings
from cpts_kit import testing
from cpts_kit.db import Database
from cpts_kit.events import CloudEvent
from cpts_kit.inbox import EventConsumer
from cpts_kit.testing import UNREACHABLE

# The CPTS of the tests: Ajaccio (94 / 2A, T2, signed 15 March 2021), Paris (11 / 75, T4,
# signed 10 January 2020), Caen (28 / 14, T1, signed 1 June 2022).
AJACCIO = "11111111-1111-4111-8111-111111111111"
PARIS = "22222222-2222-4222-8222-222222222222"
CAEN = "33333333-3333-4333-8333-333333333333"
WHERE = {AJACCIO: ("94", "2A"), PARIS: ("11", "75"), CAEN: ("28", "14")}
TIERS = {AJACCIO: ("T2", 50_000), PARIS: ("T4", 200_000), CAEN: ("T1", 30_000)}
SIGNED = {AJACCIO: date(2021, 3, 15), PARIS: date(2020, 1, 10), CAEN: date(2022, 6, 1)}
NAMES = {AJACCIO: "CPTS du Pays Ajaccien", PARIS: "CPTS Paris 15", CAEN: "CPTS de Caen"}

# The illustrative variable maxima of a T2 (reference/aci_cpts.md §8), full year.
T2_VARIABLE = {
    "access_to_care": "40000.00",
    "care_pathways": "22500.00",
    "prevention": "17000.00",
    "crisis_response": "0.00",
    "quality_relevance": "14000.00",
    "professional_support": "14000.00",
}


def make_settings(database_url: str, state_dir: Path, bootstrap: str = UNREACHABLE) -> IndicatorsSettings:
    """The kit's test settings, with a short demo wait (the demo tests feed its projections)."""
    demo = {"demo_wait_seconds": 20, "demo_poll_seconds": 0.2, "demo_min_signatories": 3}
    return testing.make_settings(IndicatorsSettings, database_url, state_dir, bootstrap, **demo)


def registered(cpts_id: str, signed_on: date | None = None) -> CloudEvent:
    region, departement = WHERE[cpts_id]
    tier, population = TIERS[cpts_id]
    return CloudEvent(
        source="/cpts/registry",
        type="fr.cpts.registry.cpts.registered.v1",
        subject=cpts_id,
        data={
            "cpts_id": cpts_id,
            "name": NAMES[cpts_id],
            "siren": "732829320",
            "siret": None,
            "finess": None,
            "legal_form": "association",
            "region": region,
            "departement": departement,
            "attachment_ars": region,
            "attachment_cpam": departement,
            "status": "aci_signed" if signed_on else "health_project_validated",
            "status_since": (signed_on or date(2019, 5, 1)).isoformat(),
            "aci_signed_on": signed_on.isoformat() if signed_on else None,
            "population": population,
            "size_tier": tier,
            "communes": ["2A004"],
        },
    )


def status_changed(cpts_id: str, to_status: str, on: date, aci_signed_on: date | None = None) -> CloudEvent:
    region, departement = WHERE[cpts_id]
    return CloudEvent(
        source="/cpts/registry",
        type="fr.cpts.registry.cpts.status_changed.v1",
        subject=cpts_id,
        data={
            "cpts_id": cpts_id,
            "region": region,
            "departement": departement,
            "from_status": "health_project_validated",
            "to_status": to_status,
            "effective_date": on.isoformat(),
            "reason": None,
            "aci_signed_on": aci_signed_on.isoformat() if aci_signed_on else None,
        },
    )


def envelope_computed(cpts_id: str, year: int, variable: dict[str, str] | None = None) -> CloudEvent:
    """A ``funding.envelope.computed`` event with the fields the contract fixes."""
    region, departement = WHERE[cpts_id]
    variable = variable or T2_VARIABLE
    lines = [
        {
            "mission": mission,
            "fixed": "25000.00" if mission == "crisis_response" else amount,
            "snp_compensation": "12000.00" if mission == "access_to_care" else "0.00",
            "variable_max": amount,
            "achievement": None,
            "variable_earned": "0.00",
            "reallocated": "0.00",
        }
        for mission, amount in variable.items()
    ]
    return CloudEvent(
        source="/cpts/funding",
        type="fr.cpts.funding.envelope.computed.v1",
        subject=cpts_id,
        data={
            "cpts_id": cpts_id,
            "region": region,
            "departement": departement,
            "year": year,
            "parameters_version": "illustrative-2019",
            "illustrative": True,
            "size_tier": TIERS[cpts_id][0],
            "population": TIERS[cpts_id][1],
            "maturity": 2,
            "aci_days": 365,
            "functioning": "60000.00",
            "lines": lines,
            "maximum": "287000.00",
            "theoretical": "200000.00",
        },
    )


def document_received(cpts_id: str, document_id: str, fiscal_year: int = 2023, verdict: str = "accepted") -> CloudEvent:
    region, departement = WHERE[cpts_id]
    return CloudEvent(
        source="/cpts/documents",
        type="fr.cpts.documents.document.received.v1",
        subject=cpts_id,
        data={
            "document_id": document_id,
            "cpts_id": cpts_id,
            "region": region,
            "departement": departement,
            "type": "activity_report",
            "fiscal_year": fiscal_year,
            "version": 1,
            "replaces": None,
            "sha256": "0" * 64,
            "size": 1000,
            "media_type": "application/pdf",
            "financial_part": None,
            "verdict": verdict,
            "error_count": 0,
            "warning_count": 0,
            "received_at": "2024-02-01T10:00:00Z",
        },
    )


async def project(db: Database, settings: IndicatorsSettings, events: list[CloudEvent]) -> None:
    """Apply events through the real handlers and inbox (what the consumers do for each message)."""
    consumers = {
        "/cpts/registry": EventConsumer(
            db, settings, group_id=REGISTRY_GROUP, topics=[REGISTRY_TOPIC], handler=apply_registry_event
        ),
        "/cpts/funding": EventConsumer(
            db, settings, group_id=FUNDING_GROUP, topics=[FUNDING_TOPIC], handler=funding_handler(settings)
        ),
        "/cpts/documents": EventConsumer(
            db, settings, group_id=DOCUMENTS_GROUP, topics=[DOCUMENTS_TOPIC], handler=apply_documents_event
        ),
    }
    for event in events:
        await consumers[event.source].apply(event)


@dataclass
class Api(testing.Api):
    """The kit's test client, with the indicators' own helpers (territorial callers, seed)."""

    dialogues: dict[str, str] = field(default_factory=dict)  # a dialogue per CPTS, for probes

    @property
    def database(self) -> Database:
        assert self.db is not None
        return self.db

    @property
    def indicators_settings(self) -> IndicatorsSettings:
        assert isinstance(self.settings, IndicatorsSettings)
        return self.settings

    async def as_ars(self, method: str, url: str, cpts_id: str = AJACCIO, **kwargs: Any) -> httpx.Response:
        return await self.call(method, url, role="ars", claims={"region": WHERE[cpts_id][0]}, **kwargs)

    async def as_cpam(self, method: str, url: str, cpts_id: str = AJACCIO, **kwargs: Any) -> httpx.Response:
        return await self.call(method, url, role="cpam", claims={"departement": WHERE[cpts_id][1]}, **kwargs)

    async def seed(self) -> None:
        """The three CPTS signed, Ajaccio's 2023 envelope, and two documents of Ajaccio."""
        await project(
            self.database,
            self.indicators_settings,
            [registered(c, SIGNED[c]) for c in (AJACCIO, PARIS, CAEN)]
            + [
                envelope_computed(AJACCIO, 2023),
                document_received(AJACCIO, "doc-ajaccio-1"),
                document_received(AJACCIO, "doc-ajaccio-rejected", verdict="rejected"),
                document_received(PARIS, "doc-paris-1"),
            ],
        )


def measurement(indicator: str, value: str, strength: str = "system_data", **overrides: Any) -> dict[str, Any]:
    evidence: dict[str, Any] = {"strength": strength}
    if strength == "system_data":
        evidence["extract"] = {"system": "Assurance maladie", "reference": "EXT-1", "extracted_on": "2024-01-15"}
    if strength == "document":
        evidence["documents"] = ["doc-ajaccio-1"]
    if strength == "declarative":
        evidence["declaration"] = "Stated in the activity report"
    body: dict[str, Any] = {
        "indicator": indicator,
        "year": 2023,
        "period_start": "2023-01-01",
        "period_end": "2023-12-31",
        "value": value,
        "source": "CPTS coordinator",
        "evidence": evidence,
    }
    body.update(overrides)
    return body


def dialogue(year: int = 2023, held_on: str = "2024-03-20", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "year": year,
        "held_on": held_on,
        "participants": [
            {"name": "Dr Marie Martin", "party": "cpts", "organisation": "CPTS du Pays Ajaccien"},
            {"name": "Paul Santoni", "party": "ars", "organisation": "ARS de Corse"},
            {"name": "Anne Colonna", "party": "cpam", "organisation": "CPAM de Corse-du-Sud"},
        ],
        "grid": [
            {
                "mission": "access_to_care",
                "results": "180 patients found a médecin traitant",
                "difficulties": "Two GPs retired",
                "means": "A coordinator half-time",
                "cpts_comment": "On track",
            }
        ],
        "decisions": {
            "targets_next_year": [{"indicator": "access.mt_patients_found", "target": "260", "reason": "Growth"}],
            "variable_part_validated": True,
            "documents_requested": ["2023 activity report"],
        },
    }
    body.update(overrides)
    return body
