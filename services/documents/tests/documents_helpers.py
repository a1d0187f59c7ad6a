"""Helpers of the documents tests (a module name unique across the repository)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from cpts_documents.events.registry import apply_registry_event
from cpts_documents.settings import DocumentsSettings
from cpts_documents.storage.models import Document
from cpts_kit import testing
from cpts_kit.db import Database
from cpts_kit.events import CloudEvent
from cpts_kit.outbox import OutboxEvent
from cpts_kit.testing import UNREACHABLE

CORPUS = Path(__file__).parent / "fec_corpus"
VALID_FEC = (CORPUS / "valid_tab.txt").read_bytes()
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SPENDING = (
    "mission;nature;label;amount;document_ref\n"
    "access_to_care;staff;Coordination soins non programmés;15600,00;PAIE\n"
    "prevention;events;Journée dépistage;2450,50;FAC-31\n"
    "Prévention;other;Flyers;49,50;\n"
    "fonctionnement;rent;Loyer;7200,00;BAIL\n"
).encode()

# Two CPTS: one in Corse-du-Sud (region 94), one in Paris (region 11).
CORSE_ID = "11111111-1111-4111-8111-111111111111"
PARIS_ID = "22222222-2222-4222-8222-222222222222"


def make_settings(database_url: str, state_dir: Path, bootstrap: str = UNREACHABLE, **extra: Any) -> DocumentsSettings:
    values: dict[str, Any] = {"overdue_check_interval_seconds": 0, "overdue_first_year": 2024, **extra}
    return testing.make_settings(DocumentsSettings, database_url, state_dir, bootstrap, **values)


def registry_event(event_type: str, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()), source="/cpts/registry", type=event_type, subject=str(data["cpts_id"]), data=data
    )


def registered(
    cpts_id: str,
    *,
    region: str,
    departement: str,
    name: str,
    aci_signed_on: str | None = "2021-06-01",
    status: str = "aci_signed",
) -> CloudEvent:
    """A registry ``cpts.registered.v1`` event, with a field this service does not know."""
    return registry_event(
        "fr.cpts.registry.cpts.registered.v1",
        {
            "cpts_id": cpts_id,
            "name": name,
            "siren": "732829320",
            "siret": None,
            "finess": None,
            "legal_form": "association",
            "region": region,
            "departement": departement,
            "attachment_ars": region,
            "attachment_cpam": departement,
            "status": status,
            "status_since": "2021-06-01",
            "aci_signed_on": aci_signed_on,
            "population": 80001,
            "size_tier": "T3",
            "communes": ["2A004"],
            "a_future_field": {"ignored": True},
        },
    )


def governance(cpts_id: str, region: str, departement: str, board: list[dict[str, str]]) -> CloudEvent:
    return registry_event(
        "fr.cpts.registry.governance.updated.v1",
        {
            "cpts_id": cpts_id,
            "region": region,
            "departement": departement,
            "board": [{**m, "role": "member", "health_profession": True} for m in board],
            "non_health_members": 0,
        },
    )


DEFAULT_CPTS = [
    registered(CORSE_ID, region="94", departement="2A", name="CPTS du Pays Ajaccien"),
    registered(PARIS_ID, region="11", departement="75", name="CPTS Paris 15"),
]


async def seed(db: Database, events: list[CloudEvent]) -> None:
    """Apply registry events with the consumer's handler, as the consumer would (one transaction)."""
    async with db.sessionmaker() as session:
        for event in events:
            await apply_registry_event(session, event)
        await session.commit()


@dataclass
class Api(testing.Api):
    """The kit's test client, with the documents' own helpers (uploads, counts)."""

    ids: dict[str, str] = field(default_factory=lambda: {"corse": CORSE_ID, "paris": PARIS_ID})

    @property
    def database(self) -> Database:
        assert self.db is not None
        return self.db

    async def upload(
        self,
        cpts_id: str,
        content: bytes,
        doc_type: str = "fec",
        year: int = 2024,
        *,
        role: str = "cnam",
        claims: dict[str, Any] | None = None,
        key: str | None = None,
        raw: bool = False,
        filename: str = "732829320FEC20241231.txt",
        **fields: Any,
    ) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        values = {"type": doc_type, "fiscal_year": str(year), **{k: str(v).lower() for k, v in fields.items()}}
        url = f"/v1/cpts/{cpts_id}/documents"
        if raw:
            headers["Content-Type"] = "application/octet-stream"
            return await self.call(
                "POST", url, role, claims, content=content, params={**values, "filename": filename}, headers=headers
            )
        return await self.call(
            "POST", url, role, claims, files={"file": (filename, content)}, data=values, headers=headers
        )

    async def counts(self) -> tuple[int, int, int]:
        """Documents, outbox events, files in the blob store."""
        async with self.database.sessionmaker() as session:
            documents = int(await session.scalar(select(func.count()).select_from(Document)) or 0)
            events = int(await session.scalar(select(func.count()).select_from(OutboxEvent)) or 0)
        files = [p for p in self.settings.blob_root.rglob("*") if p.is_file()]
        return documents, events, len(files)
