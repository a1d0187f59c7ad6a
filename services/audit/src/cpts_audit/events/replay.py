"""Reads the topics the audit projects from offset zero up to their current ends (a plain
consumer, no group: the live consumers' offsets are not touched)."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition

from cpts_audit.events.readers import TOPICS
from cpts_kit.broker import stop_client
from cpts_kit.events import CloudEvent
from cpts_kit.settings import ServiceSettings

log = logging.getLogger(__name__)


async def read_from_start(settings: ServiceSettings, topics: tuple[str, ...] = TOPICS) -> list[CloudEvent]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        request_timeout_ms=max(settings.kafka_request_timeout_ms, 10000),
    )
    await consumer.start()
    events: list[CloudEvent] = []
    try:
        partitions = [
            TopicPartition(topic, p) for topic in topics for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return events
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000, max_records=2000)
            for tp, records in batches.items():
                for record in records:
                    try:
                        events.append(CloudEvent.from_bytes(record.value or b""))
                    except ValueError:
                        log.warning(
                            "replay: %s[%d]@%d is not a CloudEvent; skipped", tp.topic, tp.partition, record.offset
                        )
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
            if not batches:
                await asyncio.sleep(0)
                # Nothing came back: check positions (a compacted or truncated log ends early).
                for tp in list(remaining):
                    if await consumer.position(tp) >= ends[tp]:
                        remaining.discard(tp)
    finally:
        await stop_client(consumer)
    return events
