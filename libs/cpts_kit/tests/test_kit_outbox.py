"""The transactional outbox and its relay, on the real embedded broker and both backends."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka.errors import KafkaError
from kit_helpers import UNREACHABLE, ThingHappened, make_settings
from sqlalchemy import select

from cpts_kit.broker import EmbeddedBroker, topic_exists
from cpts_kit.db import Database, utcnow
from cpts_kit.events import CloudEvent
from cpts_kit.outbox import OutboxEvent, OutboxRelay, enqueue, mark_all_unsent
from cpts_kit.settings import ServiceSettings
from cpts_kit.testing import read_topic

SUBJECTS = ["thing-a", "thing-b", "thing-a", "thing-c", "thing-b", "thing-a"]


async def enqueue_things(db: Database, settings: ServiceSettings, subjects: list[str]) -> list[CloudEvent]:
    async with db.sessionmaker.begin() as session:
        return [enqueue(session, settings, s, ThingHappened(thing_id=s, n=i)) for i, s in enumerate(subjects)]


async def outbox_rows(db: Database) -> list[OutboxEvent]:
    async with db.sessionmaker() as session:
        return list((await session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq))).all())


@pytest.fixture
async def relays() -> AsyncIterator[list[OutboxRelay]]:
    """Relays made by a test; their producers are closed at the end."""
    made: list[OutboxRelay] = []
    yield made
    for relay in made:
        await relay._drop_producer()  # run() does this when it stops; run_once() leaves it open


async def test_enqueue_adds_the_event_with_the_state_change_only(sqlite_outbox_db: Database, tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    async with sqlite_outbox_db.sessionmaker() as session:
        enqueue(session, settings, "thing-x", ThingHappened(thing_id="thing-x", n=1))
        await session.rollback()  # the state change failed: the event goes with it
    assert await outbox_rows(sqlite_outbox_db) == []
    (event,) = await enqueue_things(sqlite_outbox_db, settings, ["thing-y"])
    (row,) = await outbox_rows(sqlite_outbox_db)
    assert (row.event_id, row.topic, row.key, row.type) == (
        event.id,
        "cpts.kittest.events",
        "thing-y",
        "fr.cpts.kittest.thing.happened.v1",
    )
    assert CloudEvent.model_validate_json(row.body) == event
    assert row.sent_at is None and row.partition is None and row.offset is None


async def test_the_relay_publishes_in_order_keyed_by_subject_and_records_where(
    outbox_db: Database, broker: EmbeddedBroker, tmp_path: Path, relays: list[OutboxRelay]
) -> None:
    settings = make_settings(tmp_path, broker.bootstrap, relay_batch_size=4)
    events = await enqueue_things(outbox_db, settings, SUBJECTS)
    relay = OutboxRelay(outbox_db, settings)
    relays.append(relay)
    started = utcnow()
    assert [await relay.run_once() for _ in range(3)] == [4, 2, 0]  # two batches, then nothing left

    rows = await outbox_rows(outbox_db)
    assert [r.event_id for r in rows] == [e.id for e in events]
    for row in rows:
        assert row.sent_at is not None and started <= row.sent_at <= utcnow()
        assert row.partition is not None and row.offset is not None
    messages = await read_topic(broker.bootstrap, settings.topic, expect=len(SUBJECTS))
    assert len(messages) == len(SUBJECTS)  # each once
    at = {(m.partition, m.offset): m for m in messages}
    for n, (row, event) in enumerate(zip(rows, events, strict=True)):
        message = at[(row.partition, row.offset)]  # the recorded place holds this very event
        assert message.key == event.subject.encode()
        assert message.value == row.body.encode()
        published = json.loads(message.value)
        assert published["id"] == event.id and published["subject"] == event.subject
        assert published["type"] == "fr.cpts.kittest.thing.happened.v1"
        assert published["source"] == "/cpts/kittest" and published["specversion"] == "1.0"
        assert published["data"] == {"thing_id": event.subject, "n": n}
    for subject in set(SUBJECTS):
        mine = [r for r in rows if r.key == subject]
        assert len({r.partition for r in mine}) == 1  # one subject, one partition...
        offsets = [r.offset for r in mine]
        assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)  # ...in enqueue order
    assert await topic_exists(settings, settings.heartbeat_topic)


async def test_mark_all_unsent_replays_the_topic_in_order(
    outbox_db: Database, broker: EmbeddedBroker, tmp_path: Path, relays: list[OutboxRelay]
) -> None:
    settings = make_settings(tmp_path, broker.bootstrap)
    events = await enqueue_things(outbox_db, settings, SUBJECTS)
    async with outbox_db.sessionmaker.begin() as session:  # another service's event, already sent
        session.add(
            OutboxEvent(
                event_id="00000000-0000-0000-0000-000000000001",
                topic="cpts.other.events",
                key="other",
                type="fr.cpts.other.thing.happened.v1",
                body="{}",
                sent_at=utcnow(),
                partition=0,
                offset=0,
            )
        )
    relay = OutboxRelay(outbox_db, settings)
    relays.append(relay)
    assert await relay.run_once() == len(SUBJECTS)
    first_places = {r.event_id: (r.partition, r.offset) for r in await outbox_rows(outbox_db)}

    assert await mark_all_unsent(outbox_db, settings.topic) == len(SUBJECTS)
    rows = await outbox_rows(outbox_db)
    mine = [r for r in rows if r.topic == settings.topic]
    assert all(r.sent_at is None and r.partition is None and r.offset is None for r in mine)
    (other,) = [r for r in rows if r.topic == "cpts.other.events"]
    assert other.sent_at is not None and other.offset == 0  # another topic is left alone
    assert await mark_all_unsent(outbox_db, settings.topic) == 0  # nothing sent, nothing to mark

    assert await relay.run_once() == len(SUBJECTS)
    replayed = [r for r in await outbox_rows(outbox_db) if r.topic == settings.topic]
    for row in replayed:
        partition, offset = first_places[row.event_id]
        assert row.sent_at is not None
        assert row.partition == partition and row.offset is not None and row.offset > offset
    messages = await read_topic(broker.bootstrap, settings.topic, expect=2 * len(SUBJECTS))
    assert len(messages) == 2 * len(SUBJECTS)
    for subject in set(SUBJECTS):
        ids = [json.loads(m.value)["id"] for m in sorted(messages, key=lambda m: m.offset) if m.key == subject.encode()]
        expected = [e.id for e in events if e.subject == subject]
        assert ids == expected + expected  # published, then the same again, in order


async def test_without_a_broker_run_once_fails_and_the_events_wait(
    sqlite_outbox_db: Database, broker: EmbeddedBroker, tmp_path: Path, relays: list[OutboxRelay]
) -> None:
    settings = make_settings(tmp_path, UNREACHABLE)
    events = await enqueue_things(sqlite_outbox_db, settings, ["thing-a", "thing-b"])
    relay = OutboxRelay(sqlite_outbox_db, settings)
    relays.append(relay)
    for _ in range(2):
        with pytest.raises(KafkaError):
            await relay.run_once()
    rows = await outbox_rows(sqlite_outbox_db)
    assert [r.event_id for r in rows] == [e.id for e in events]
    assert all(r.sent_at is None and r.partition is None and r.offset is None for r in rows)

    # The broker is back (another relay, as after a restart of the service): nothing was lost.
    back = OutboxRelay(sqlite_outbox_db, make_settings(tmp_path, broker.bootstrap))
    relays.append(back)
    assert await back.run_once() == 2
    assert all(r.sent_at is not None for r in await outbox_rows(sqlite_outbox_db))
    messages = await read_topic(broker.bootstrap, settings.topic, expect=2)
    assert sorted(json.loads(m.value)["id"] for m in messages) == sorted(e.id for e in events)
