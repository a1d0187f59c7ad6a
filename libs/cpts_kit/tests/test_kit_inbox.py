"""The event consumer on the real embedded broker: inbox deduplication, dead letters for
unparsable messages and failing handlers, and offsets committed only after processing."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition
from kit_helpers import (
    ConsumerStarter,
    KitTestSettings,
    Projection,
    committed_offset,
    eventually,
    make_settings,
    produce,
    thing,
)

from cpts_kit import metrics
from cpts_kit.broker import EmbeddedBroker, ensure_topics
from cpts_kit.db import Database
from cpts_kit.testing import read_topic


@pytest.fixture
async def settings(broker: EmbeddedBroker, tmp_path: Path) -> KitTestSettings:
    settings = make_settings(tmp_path, broker.bootstrap, consumer_max_attempts=4)
    await ensure_topics(settings, [settings.topic, settings.dlq_topic])
    return settings


def headers_of(message: Any) -> dict[str, str]:
    return {name: value.decode() for name, value in message.headers}


async def test_an_event_delivered_twice_is_applied_once(
    settings: KitTestSettings, projection: Projection, start_consumer: ConsumerStarter
) -> None:
    first, second = thing("a", 1), thing("b", 2)
    run = start_consumer(projection, settings, "kittest-dedup")
    await produce(settings, first.to_bytes())
    await projection.wait_applied(first)
    # The same event again, in a later batch, then another: once the other is applied, the
    # duplicate (before it on the same partition) has been processed too.
    await produce(settings, first.to_bytes(), second.to_bytes())
    await projection.wait_applied(second)
    await run.close()

    assert run.consumer.delivered == [first.id, first.id, second.id]  # delivered twice...
    assert projection.calls == [first.id, second.id]  # ...handled once
    assert await projection.applied() == [first.id, second.id]
    assert await projection.inbox("kittest-dedup") == sorted([first.id, second.id])


async def test_an_event_twice_in_one_batch_is_applied_once_on_both_backends(
    database_url: str, broker: EmbeddedBroker, tmp_path: Path, start_consumer: ConsumerStarter
) -> None:
    """The inbox rows are claimed for the whole batch in one statement: the primary key keeps
    the first of two copies, and an event already in the inbox is not applied again."""
    settings = make_settings(tmp_path, broker.bootstrap)
    await ensure_topics(settings, [settings.topic, settings.dlq_topic])
    projection = Projection(Database(database_url))
    await projection.create_tables()
    try:
        first, second, third = thing("a", 1), thing("b", 2), thing("c", 3)
        await produce(settings, first.to_bytes(), first.to_bytes(), second.to_bytes())
        run = start_consumer(projection, settings, "kittest-dedup-batch")
        await projection.wait_applied(second)
        await produce(settings, second.to_bytes(), third.to_bytes(), third.to_bytes())
        await projection.wait_applied(third)
        await run.close()

        assert run.consumer.delivered == [first.id, first.id, second.id, second.id, third.id, third.id]
        assert projection.calls == [first.id, second.id, third.id]
        assert await projection.applied() == [first.id, second.id, third.id]
        assert await projection.inbox("kittest-dedup-batch") == sorted([first.id, second.id, third.id])
    finally:
        await projection.db.dispose()


async def test_a_message_that_is_not_a_cloudevent_goes_to_the_dlq_and_the_next_one_is_applied(
    settings: KitTestSettings, projection: Projection, start_consumer: ConsumerStarter, broker: EmbeddedBroker
) -> None:
    good = thing("good", 1)
    not_json, not_an_event = b"this is not JSON", b'{"hello": "world"}'
    placed = await produce(settings, not_json, not_an_event, good.to_bytes())
    run = start_consumer(projection, settings, "kittest-dlq")
    await projection.wait_applied(good)

    dead = await read_topic(broker.bootstrap, settings.dlq_topic, expect=2)
    await run.close()
    assert [m.value for m in dead] == [not_json, not_an_event]
    for message, original in zip(dead, placed[:2], strict=True):
        headers = headers_of(message)
        assert headers["error"].startswith("not a CloudEvent: ")
        assert headers["original-topic"] == settings.topic
        assert headers["original-partition"] == str(original.partition)
        assert headers["original-offset"] == str(original.offset)
        assert headers["consumer-group"] == "kittest-dlq"
        assert message.key == b"one-subject"
    assert projection.calls == [good.id]
    assert await projection.applied() == [good.id]
    assert await projection.inbox("kittest-dlq") == [good.id]


async def test_a_failing_handler_dead_letters_the_event_after_its_attempts_and_rolls_back(
    database_url: str, broker: EmbeddedBroker, tmp_path: Path, start_consumer: ConsumerStarter
) -> None:
    """On both backends: the handler writes its row, then raises; nothing of it may remain."""
    settings = make_settings(tmp_path, broker.bootstrap, consumer_max_attempts=4)
    await ensure_topics(settings, [settings.topic, settings.dlq_topic])
    projection = Projection(Database(database_url))
    await projection.create_tables()
    try:
        before, boom, after = thing("before", 1), thing("boom", 2), thing("after", 3)
        projection.failing.add("boom")
        placed = await produce(settings, before.to_bytes(), boom.to_bytes(), after.to_bytes())
        run = start_consumer(projection, settings, "kittest-failing")
        await projection.wait_applied(after)
        dead = await read_topic(broker.bootstrap, settings.dlq_topic, expect=1)
        await run.close()

        assert projection.calls.count(boom.id) == settings.consumer_max_attempts == 4
        # In the same batch, "before" was handled in the optimistic pass too (rolled back with
        # it); "after" comes after the failure, so only in the careful pass.
        assert projection.calls.count(after.id) == 1 and projection.calls.count(before.id) in (1, 2)
        assert await projection.applied() == [before.id, after.id]  # the failed attempts rolled back
        assert await projection.inbox("kittest-failing") == sorted([before.id, after.id])
        assert len(dead) == 1
        assert dead[0].value == boom.to_bytes()
        headers = headers_of(dead[0])
        assert headers["error"] == "RuntimeError: cannot apply boom"
        assert headers["original-offset"] == str(placed[1].offset)
    finally:
        await projection.db.dispose()


async def test_a_new_consumer_of_the_group_resumes_after_the_committed_offsets(
    settings: KitTestSettings, projection: Projection, start_consumer: ConsumerStarter, broker: EmbeddedBroker
) -> None:
    old = [thing(f"old-{i}", i) for i in range(3)]
    placed = await produce(settings, *(e.to_bytes() for e in old))
    first = start_consumer(projection, settings, "kittest-resume")
    await projection.wait_applied(old[-1])
    await first.close()
    tp = TopicPartition(settings.topic, placed[-1].partition)
    assert await committed_offset(broker.bootstrap, "kittest-resume", tp) == placed[-1].offset + 1

    new = [thing(f"new-{i}", 10 + i) for i in range(2)]
    second = start_consumer(projection, settings, "kittest-resume")
    await produce(settings, *(e.to_bytes() for e in new))
    await projection.wait_applied(new[-1])
    await second.close()

    assert second.consumer.delivered == [e.id for e in new]  # the old ones were not read again
    assert projection.calls == [e.id for e in old + new]
    assert await projection.applied() == [e.id for e in old + new]
    assert await projection.inbox("kittest-resume") == sorted(e.id for e in old + new)


async def test_a_restarted_consumer_with_nothing_new_reports_no_lag(
    settings: KitTestSettings, projection: Projection, start_consumer: ConsumerStarter
) -> None:
    """Caught up at the committed offsets, it applies nothing after its restart: its lag is 0,
    not the whole log (which kept `cpts status` and the start command waiting)."""
    events = [thing(f"lag-{i}", i) for i in range(3)]
    placed = await produce(settings, *(e.to_bytes() for e in events))
    first = start_consumer(projection, settings, "kittest-lag")
    await projection.wait_applied(events[-1])
    await first.close()
    second = start_consumer(projection, settings, "kittest-lag")
    partitions = {str(p.partition) for p in placed}

    def lags() -> dict[str, float]:
        samples = metrics.CONSUMER_LAG.collect()[0].samples
        return {
            s.labels["partition"]: s.value
            for s in samples
            if s.labels["group"] == "kittest-lag" and s.labels["partition"] in partitions
        }

    async def measured() -> bool:
        return set(lags()) == partitions

    await eventually(measured, "the restarted consumer measured its lag", cap_seconds=60)
    await second.close()
    assert lags() == dict.fromkeys(partitions, 0.0)
    assert second.consumer.delivered == []


async def test_an_event_whose_processing_was_interrupted_is_redelivered(
    settings: KitTestSettings, projection: Projection, start_consumer: ConsumerStarter, broker: EmbeddedBroker
) -> None:
    """A consumer killed while it applies an event did not commit its offset: the next member
    of the group gets the event again, and only that one."""
    done = [thing(f"done-{i}", i) for i in range(2)]
    placed = await produce(settings, *(e.to_bytes() for e in done))
    tp = TopicPartition(settings.topic, placed[-1].partition)
    crashing = start_consumer(projection, settings, "kittest-crash")
    await projection.wait_applied(done[-1])

    async def committed_done() -> bool:
        return await committed_offset(broker.bootstrap, "kittest-crash", tp) == placed[-1].offset + 1

    await eventually(committed_done, "the offsets of the applied events committed")

    stuck = thing("stuck", 5)
    projection.blocking["stuck"] = gate = asyncio.Event()
    (stuck_placed,) = await produce(settings, stuck.to_bytes())
    await asyncio.wait_for(projection.entered.wait(), 120)  # the handler is in the middle of it
    crashing.task.cancel()  # a crash: no graceful stop, no commit
    with contextlib.suppress(asyncio.CancelledError):
        await crashing.task
    assert crashing.task.cancelled()
    assert await committed_offset(broker.bootstrap, "kittest-crash", tp) == stuck_placed.offset
    assert await projection.applied() == [e.id for e in done]  # its transaction rolled back

    gate.set()
    restarted = start_consumer(projection, settings, "kittest-crash")
    await projection.wait_applied(stuck)
    await restarted.close()
    assert restarted.consumer.delivered == [stuck.id]
    assert await projection.applied() == [e.id for e in [*done, stuck]]
    assert await projection.inbox("kittest-crash") == sorted(e.id for e in [*done, stuck])
    assert await committed_offset(broker.bootstrap, "kittest-crash", tp) == stuck_placed.offset + 1
