"""Recovery pieces of the kit on the real embedded broker: topics repaired after the broker
auto-created them, one republication per reset whichever relay sees it, and the supervision
of ``cpts run`` (the whole platform under faults: tests/integration/test_fault_injection.py)."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from kit_helpers import ThingHappened, make_settings
from sqlalchemy import select

from cpts_kit.broker import EmbeddedBroker, ensure_topics, read_at, stop_client, topic_partition_counts
from cpts_kit.cli import _Child, _StopFlag, _supervise
from cpts_kit.db import Database
from cpts_kit.outbox import OutboxEvent, OutboxRelay, enqueue
from cpts_kit.settings import ServiceSettings
from cpts_kit.testing import read_topic


async def partition_counts(settings: ServiceSettings, *topics: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        return await topic_partition_counts(admin, list(topics))
    finally:
        await admin.close()


async def auto_create(settings: ServiceSettings, topic: str) -> None:
    """What any client naming a missing topic does to the embedded broker: it creates it."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        for _ in range(50):
            if topic in (await partition_counts(settings, topic)):
                return
            await asyncio.sleep(0.1)
    finally:
        await stop_client(consumer)


async def test_only_repair_replaces_a_topic_the_broker_auto_created(broker: EmbeddedBroker, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, broker.bootstrap)
    await auto_create(settings, settings.topic)
    assert await partition_counts(settings, settings.topic) == {settings.topic: 4}  # the broker's own count
    assert await ensure_topics(settings, [settings.topic]) == []  # consumers never delete a topic
    assert await ensure_topics(settings, [settings.topic], repair=True) == [settings.topic]
    assert await partition_counts(settings, settings.topic) == {settings.topic: 6}
    assert await ensure_topics(settings, [settings.topic], repair=True) == []  # now as configured


async def test_a_reset_is_republished_once_whichever_relay_sees_it(
    outbox_db: Database, broker: EmbeddedBroker, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, broker.bootstrap)
    subjects = ["a", "b", "a", "c", "b", "a"]
    async with outbox_db.sessionmaker.begin() as session:
        events = [enqueue(session, settings, s, ThingHappened(thing_id=s, n=n)) for n, s in enumerate(subjects)]
    first, second = OutboxRelay(outbox_db, settings), OutboxRelay(outbox_db, settings)
    try:
        assert await first.run_once() == 6
        assert await second.check_broker() is False  # everything delivered is there
        broker.stop()
        broker.start()  # empty; then a consumer names the topic first: 4 partitions
        await auto_create(settings, settings.topic)
        assert await first.check_broker() is True
        assert await second.check_broker() is False  # the same reset: not republished again
        assert await partition_counts(settings, settings.topic) == {settings.topic: 6}
        assert await first.run_once() == 6
        assert await second.check_broker() is False and await first.check_broker() is False
        assert (first.resets, second.resets) == (1, 0)
        messages = await read_topic(broker.bootstrap, settings.topic, expect=6)
        assert sorted(m.value for m in messages) == sorted(e.model_dump_json().encode() for e in events)
        async with outbox_db.sessionmaker() as session:
            rows = list((await session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq))).all())
        # The broker holds each event where the outbox says it is.
        held = await read_at(settings, settings.topic, {r.partition: r.offset for r in rows if r.partition is not None})
        last = {r.partition: r.body.encode() for r in rows}
        assert held == last
    finally:
        await first._drop_producer()
        await second._drop_producer()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_cpts_run_restarts_a_dead_service_and_the_broker(
    broker: EmbeddedBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    child = _Child("shortlived", tmp_path / "shortlived.log", [sys.executable, "-c", "import time; time.sleep(0.3)"])
    child.start()
    first_pid = child.process.pid if child.process else None
    stopping = _StopFlag(signals=False)
    supervisor = threading.Thread(target=_supervise, args=([child], broker, stopping))
    supervisor.start()
    try:
        broker.kill()  # kill -9
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (broker.running and port_open(broker.port)):
            time.sleep(0.1)
        assert broker.running and port_open(broker.port), "the broker was not restarted"
        while time.monotonic() < deadline and (child.process is None or child.process.pid == first_pid):
            time.sleep(0.1)
        assert child.process is not None and child.process.pid != first_pid, "the service was not restarted"
    finally:
        stopping.set = True
        supervisor.join(10)
    assert not supervisor.is_alive()  # it stops when told, and only then
    err = capsys.readouterr().err
    assert "broker exited with code -9; restarting in 0.5s" in err
    assert f"broker restarted on {broker.bootstrap}" in err
    assert "shortlived exited with code 0; restarting in 0.5s" in err and "shortlived restarted" in err
    child.wait(5)


async def test_a_round_sends_each_partition_one_record_batch_and_stops_at_a_full_one(
    outbox_db: Database, broker: EmbeddedBroker, tmp_path: Path
) -> None:
    """A partition's share of a round goes whole or not at all, so a failed send can never let
    a later event of a subject through before its predecessor. A record batch that is full
    ends the round; the rest follows in the next one, in order."""
    settings = make_settings(tmp_path, broker.bootstrap, relay_batch_size=10, kafka_max_batch_bytes=1)
    subjects = ["a", "b", "a", "c", "b", "a", "a"]
    async with outbox_db.sessionmaker.begin() as session:
        events = [enqueue(session, settings, s, ThingHappened(thing_id=s, n=n)) for n, s in enumerate(subjects)]
    relay = OutboxRelay(outbox_db, settings)
    try:
        # One event per record batch (1 byte caps each at its first): a round ends at the
        # first subject seen twice, or at another subject hashed to the same partition.
        rounds = [await relay.run_once() for _ in range(8)]
    finally:
        await relay._drop_producer()
    assert sum(rounds) == len(subjects) and rounds[-1] == 0
    assert all(n <= 3 for n in rounds)  # never two events of one partition in a round
    async with outbox_db.sessionmaker() as session:
        rows = list((await session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq))).all())
    assert [r.event_id for r in rows] == [e.id for e in events]
    for subject in set(subjects):
        places = [(r.partition, r.offset) for r in rows if r.key == subject]
        assert len({p for p, _ in places}) == 1 and [o for _, o in places] == sorted(o for _, o in places)
    held = await read_at(settings, settings.topic, {r.partition: r.offset for r in rows if r.partition is not None})
    assert held == {r.partition: r.body.encode() for r in rows}  # each partition's last event, where recorded
