"""The start command's wait for events to settle, on the real embedded broker: log ends read
from the outbox (where the relay recorded each event), consumer groups' committed offsets
from the broker."""

from __future__ import annotations

from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from kit_helpers import ThingHappened, make_settings

from cpts_kit.broker import EmbeddedBroker, make_admin, stop_client
from cpts_kit.db import Database
from cpts_kit.outbox import OutboxRelay, enqueue, recorded_ends
from cpts_kit.status import _caught_up
from cpts_kit.testing import read_topic

SUBJECTS = [f"thing-{n}" for n in range(12)]


async def commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    """Commits offsets for a consumer group without joining it (as a consumer does after
    applying a batch)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()})
    finally:
        await stop_client(consumer)


async def test_a_group_is_caught_up_once_it_committed_every_log_end(
    broker: EmbeddedBroker, sqlite_outbox_db: Database, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, broker.bootstrap)
    async with sqlite_outbox_db.sessionmaker.begin() as session:
        for n, subject in enumerate(SUBJECTS):
            enqueue(session, settings, subject, ThingHappened(thing_id=subject, n=n))
    relay = OutboxRelay(sqlite_outbox_db, settings)
    try:
        assert await relay.run_once() == len(SUBJECTS)
    finally:
        await relay._drop_producer()

    async with sqlite_outbox_db.reader() as session:
        ends = await recorded_ends(session, settings.topic)
    records = await read_topic(broker.bootstrap, settings.topic, expect=len(SUBJECTS))
    per_partition: dict[int, int] = {}
    for record in records:
        per_partition[record.partition] = max(per_partition.get(record.partition, 0), record.offset + 1)
    assert ends == per_partition and sum(ends.values()) == len(SUBJECTS)

    admin = make_admin(settings)
    await admin.start()
    try:
        groups = {"things.projection": {settings.topic}}
        topics = {settings.topic: ends}
        assert not await _caught_up(admin, groups, topics)  # nothing committed yet
        *first, (last, end) = sorted(ends.items())
        behind = {TopicPartition(settings.topic, p): e for p, e in first} | {
            TopicPartition(settings.topic, last): end - 1
        }
        await commit(broker.bootstrap, "things.projection", behind)
        assert not await _caught_up(admin, groups, topics)  # one event still to apply
        await commit(broker.bootstrap, "things.projection", {TopicPartition(settings.topic, last): end})
        assert await _caught_up(admin, groups, topics)
        # Another group reading the same topic has its own offsets.
        assert not await _caught_up(admin, {**groups, "things.other": {settings.topic}}, topics)
    finally:
        await admin.close()
