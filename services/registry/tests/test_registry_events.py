"""Events on a real Kafka-protocol broker (the embedded Tansu): one CloudEvent per change,
nothing lost or duplicated while the broker is down, and exactly-once application by a
consumer across a broker restart that lost everything."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from registry_helpers import Api, cpts_body, make_settings
from sqlalchemy import Column, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_kit.broker import EmbeddedBroker
from cpts_kit.db import Database
from cpts_kit.events import CloudEvent
from cpts_kit.inbox import EventConsumer, InboxEvent
from cpts_kit.service import upgrade
from cpts_kit.testing import cloudevents, read_topic
from cpts_registry.main import create_app
from cpts_registry.service import spec

TOPIC = "cpts.registry.events"
CONTRACTS = Path(__file__).resolve().parents[3] / "contracts" / "events" / "registry"
SIRENS = ["732829320", "552100554", "542107651", "552032534", "542065479", "775672272", "784608416", "552081317"]


@pytest.fixture
async def live(broker: EmbeddedBroker, tmp_path: Path) -> AsyncIterator[Api]:
    """The registry with its outbox relay running against the test's broker (SQLite)."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}", tmp_path, broker.bootstrap)
    await upgrade(spec, settings.database_url)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://r") as client:
        yield Api(client, settings)


async def register(api: Api, index: int) -> str:
    answer = await api.call("POST", "/v1/cpts", json=cpts_body(siren=SIRENS[index], name=f"CPTS {index}"))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def test_registering_a_cpts_publishes_one_cloudevent(live: Api, broker: EmbeddedBroker) -> None:
    cpts_id = await register(live, 0)
    messages = await read_topic(broker.bootstrap, TOPIC, expect=1)
    assert len(messages) == 1
    message = messages[0]
    assert message.key == cpts_id.encode()
    event = json.loads(message.value)
    assert event["specversion"] == "1.0" and event["type"] == "fr.cpts.registry.cpts.registered.v1"
    assert event["subject"] == cpts_id and event["source"] == "/cpts/registry"
    assert event["datacontenttype"] == "application/json" and event["id"] and event["time"]
    schema = json.loads((CONTRACTS / "fr.cpts.registry.cpts.registered.v1.json").read_text())
    jsonschema.validate(event["data"], schema)
    assert event["data"]["cpts_id"] == cpts_id and event["data"]["population"] == 80_001
    assert event["data"]["communes"] == ["2A004", "2A006"]


async def test_each_change_is_one_event_valid_against_its_schema(live: Api, broker: EmbeddedBroker) -> None:
    cpts_id = await register(live, 0)
    base = f"/v1/cpts/{cpts_id}"
    await live.call("PATCH", base, json={"name": "CPTS Grand Ajaccio"})
    await live.call(
        "POST",
        f"{base}/transitions",
        "dgos",
        json={"to": "health_project_validated", "effective_date": "2022-01-01"},
    )
    await live.call("PUT", f"{base}/territory", json={"communes": ["2A004"]})
    await live.call("PUT", f"{base}/members/2024", json={"counts": {"infirmier": 4}})
    board = [{"name": "Claire Martin", "role": "president", "profession": "infirmier"}]
    await live.call("PUT", f"{base}/governance", json={"board": board})
    events = cloudevents(await read_topic(broker.bootstrap, TOPIC, expect=6))
    assert [e["type"] for e in events] == [
        "fr.cpts.registry.cpts.registered.v1",
        "fr.cpts.registry.cpts.updated.v1",
        "fr.cpts.registry.cpts.status_changed.v1",
        "fr.cpts.registry.territory.updated.v1",
        "fr.cpts.registry.members.reported.v1",
        "fr.cpts.registry.governance.updated.v1",
    ]  # one CPTS, one partition: in order
    for event in events:
        assert event["subject"] == cpts_id
        jsonschema.validate(event["data"], json.loads((CONTRACTS / f"{event['type']}.json").read_text()))
    assert events[2]["data"]["from_status"] == "intention_letter_signed"
    assert events[2]["data"]["to_status"] == "health_project_validated"


async def test_refused_changes_publish_nothing(live: Api, broker: EmbeddedBroker) -> None:
    cpts_id = await register(live, 0)
    refused = await live.call(
        "POST", f"/v1/cpts/{cpts_id}/transitions", json={"to": "aci_signed", "effective_date": "2022-01-01"}
    )
    assert refused.status_code == 409
    assert (await live.call("PUT", f"/v1/cpts/{cpts_id}/territory", json={"communes": ["99999"]})).status_code == 422
    events = cloudevents(await read_topic(broker.bootstrap, TOPIC, expect=1))
    assert [e["type"] for e in events] == ["fr.cpts.registry.cpts.registered.v1"]


async def test_events_wait_in_the_outbox_while_the_broker_is_down(live: Api, broker: EmbeddedBroker) -> None:
    broker.stop()
    ids = [await register(live, i) for i in range(5)]  # the API answers without a broker
    ready = await live.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["broker"] == "unreachable"
    await asyncio.sleep(1.5)  # a relay pass or two
    metrics = (await live.client.get("/metrics")).text
    assert 'cpts_outbox_backlog{service="registry"} 5.0' in metrics
    broker.start()
    events = cloudevents(await read_topic(broker.bootstrap, TOPIC, expect=5, wait_seconds=30))
    assert sorted(e["subject"] for e in events) == sorted(ids)  # none lost
    assert len({e["id"] for e in events}) == len(events) == 5  # none duplicated
    assert (await live.client.get("/readyz")).status_code == 200


APPLIED = Table("applied", MetaData(), Column("event_id", String(100)), Column("subject", String(100)))


async def test_a_consumer_applies_every_event_once_across_a_broker_restart(
    live: Api, broker: EmbeddedBroker, tmp_path: Path
) -> None:
    consumer_db = Database(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}")
    async with consumer_db.engine.begin() as conn:
        await conn.run_sync(lambda c: (InboxEvent.__table__.create(c), APPLIED.create(c)))

    async def apply(session: AsyncSession, event: CloudEvent) -> None:
        await session.execute(APPLIED.insert().values(event_id=event.id, subject=event.subject))

    settings = make_settings(consumer_db.url, tmp_path, broker.bootstrap)
    consumer = EventConsumer(consumer_db, settings, group_id="test-projection", topics=[TOPIC], handler=apply)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))

    async def applied_rows() -> list[Any]:
        async with consumer_db.sessionmaker() as session:
            return list((await session.execute(select(APPLIED.c.event_id, APPLIED.c.subject))).all())

    async def wait_for(count: int) -> list[Any]:
        for _ in range(200):
            rows = await applied_rows()
            if len(rows) >= count:
                await asyncio.sleep(1.0)  # a late duplicate would show up now
                return await applied_rows()
            await asyncio.sleep(0.2)
        raise AssertionError(f"only {len(await applied_rows())} of {count} events applied")

    try:
        before = [await register(live, i) for i in range(4)]
        assert len(await wait_for(4)) == 4
        broker.stop()
        broker.start()  # memory only: the topic and the group's offsets are gone
        after = [await register(live, i) for i in range(4, 8)]
        rows = await wait_for(8)
    finally:
        stop.set()
        await asyncio.wait_for(task, 20)
    assert sorted(subject for _, subject in rows) == sorted(before + after)
    assert len({event_id for event_id, _ in rows}) == len(rows) == 8  # each applied exactly once
    async with consumer_db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(InboxEvent)) == 8
    await consumer_db.dispose()
    # The relay noticed the empty broker and republished what it had sent before.
    republished = cloudevents(await read_topic(live.settings.kafka_bootstrap, TOPIC, expect=8))
    assert {e["subject"] for e in republished} == set(before + after)
