"""Events on a real Kafka-protocol broker (the embedded Tansu), end to end: registry events
build the projection through the consumer, uploads publish CloudEvents that match their
published schemas, one per fact, keyed by the CPTS id."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jsonschema
import pytest
from documents_helpers import CORPUS, CORSE_ID, DEFAULT_CPTS, SPENDING, VALID_FEC, Api, governance, make_settings
from sqlalchemy import select

from cpts_documents.main import create_app
from cpts_documents.service import spec
from cpts_documents.storage.models import CptsProjection
from cpts_kit.broker import EmbeddedBroker, ensure_topics, make_producer, stop_client
from cpts_kit.db import Database
from cpts_kit.service import upgrade
from cpts_kit.testing import cloudevents, read_topic

TOPIC = "cpts.documents.events"
REGISTRY_TOPIC = "cpts.registry.events"
CONTRACTS = Path(__file__).resolve().parents[3] / "contracts" / "events" / "documents"


@pytest.fixture
async def live(broker: EmbeddedBroker, tmp_path: Path) -> AsyncIterator[Api]:
    """The documents service with its relay and registry consumer running (SQLite)."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'documents.db'}", tmp_path, broker.bootstrap)
    await upgrade(spec, settings.database_url)
    db = Database(settings.database_url)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://d") as client:
        yield Api(client, settings, db)
    await db.dispose()


async def publish_registry_events(api: Api) -> None:
    board = [{"name": "Paul Martin", "profession": "medecin_generaliste"}]
    events = [*DEFAULT_CPTS, governance(CORSE_ID, "94", "2A", board)]
    await ensure_topics(api.settings, [REGISTRY_TOPIC])
    producer = make_producer(api.settings)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(REGISTRY_TOPIC, event.to_bytes(), key=event.subject.encode())
    finally:
        await stop_client(producer)


async def wait_for_projection(api: Api, count: int) -> list[CptsProjection]:
    for _ in range(300):
        async with api.db.sessionmaker() as session:
            rows = list(await session.scalars(select(CptsProjection)))
        if len(rows) >= count and any(r.board for r in rows):
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError("the registry events never reached the projection")


async def test_registry_events_to_documents_events_end_to_end(live: Api, broker: EmbeddedBroker) -> None:
    await publish_registry_events(live)
    rows = await wait_for_projection(live, 2)
    assert {r.id for r in rows} == {CORSE_ID, "22222222-2222-4222-8222-222222222222"}
    accepted = await live.upload(CORSE_ID, VALID_FEC)
    assert accepted.status_code == 201, accepted.text
    rejected = await live.upload(CORSE_ID, (CORPUS / "error_dates.txt").read_bytes())
    spending = await live.upload(CORSE_ID, SPENDING, "spending_statement")
    assert rejected.status_code == spending.status_code == 201
    messages = await read_topic(broker.bootstrap, TOPIC, expect=6, wait_seconds=30)
    assert all(m.key == CORSE_ID.encode() for m in messages)
    events = cloudevents(messages)
    assert [e["type"] for e in events] == [
        "fr.cpts.documents.document.received.v1",
        "fr.cpts.documents.accounts.summarised.v1",
        "fr.cpts.documents.document.received.v1",
        "fr.cpts.documents.document.rejected.v1",
        "fr.cpts.documents.document.received.v1",
        "fr.cpts.documents.spending_statement.received.v1",
    ]
    for event in events:
        assert event["specversion"] == "1.0" and event["source"] == "/cpts/documents" and event["subject"] == CORSE_ID
        jsonschema.validate(event["data"], json.loads((CONTRACTS / f"{event['type']}.json").read_text()))
        assert event["data"]["region"] == "94" and event["data"]["departement"] == "2A"
    summary = events[1]["data"]["summary"]
    assert summary["result"] == "80400.00" and summary["revenue_by_category"]["assurance_maladie"] == "120000.00"
    # The board from the registry's governance event flags the fees paid to Dr Martin.
    assert any(f["reason"] == "board_member_payment" and f["line"] == 25 for f in summary["flagged_entries"])
    # What the audit engineer reads: every flagged entry's reason, amount, account, label and FEC
    # line, the document id, and complete counts and amounts by reason.
    assert events[1]["data"]["document_id"] == accepted.json()["id"]
    for flagged in summary["flagged_entries"]:
        assert {"reason", "amount", "account", "label", "line"} <= set(flagged)
    assert summary["flagged_count"] == 5 == sum(1 for _ in summary["flagged_entries"])
    assert summary["flags_by_reason"] == {
        "board_member_payment": 1,
        "health_industry": 1,
        "large_payment_board_profession": 1,
        "leisure_or_culture": 2,
        "real_estate": 1,
        "reception_or_gift": 1,
    }
    assert summary["flag_amounts_by_reason"]["leisure_or_culture"] == "3300.00"
    assert summary["closing_entries"]["count"] == 0 and summary["in_kind_balanced"] is True
    assert events[3]["data"]["error_count"] == 3 and events[3]["data"]["errors"][0]["code"] == "E_DATE_INVALID"
    assert events[2]["data"]["replaces"] == accepted.json()["id"]
    assert events[5]["data"]["spending"]["by_mission"]["prevention"] == "2500.00"
