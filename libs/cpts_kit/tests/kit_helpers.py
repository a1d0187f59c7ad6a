"""Helpers of the kit's own tests (a module name unique across the repository)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.structs import RecordMetadata
from pydantic_settings import SettingsConfigDict
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_kit.broker import make_producer, stop_client
from cpts_kit.db import Database
from cpts_kit.events import CloudEvent, EventPayload
from cpts_kit.inbox import EventConsumer, InboxEvent
from cpts_kit.settings import ServiceSettings
from cpts_kit.testing import eventually

UNREACHABLE = "127.0.0.1:1"


class KitTestSettings(ServiceSettings):
    service_name: ClassVar[str] = "kittest"
    model_config = SettingsConfigDict(env_prefix="CPTS_KITTEST_", extra="ignore")


class ThingHappened(EventPayload):
    event_type: ClassVar[str] = "fr.cpts.kittest.thing.happened.v1"

    thing_id: str
    n: int


def make_settings(state_dir: Path, bootstrap: str = UNREACHABLE, **overrides: Any) -> KitTestSettings:
    values: dict[str, Any] = {
        "state_dir": state_dir,
        "embedded": True,
        "kafka_bootstrap": bootstrap,
        "kafka_request_timeout_ms": 3000,
        "relay_interval_seconds": 0.1,
        "relay_max_backoff_seconds": 0.5,
        "log_json": False,
        **overrides,
    }
    return KitTestSettings(**values)


def thing(subject: str, n: int = 0) -> CloudEvent:
    return CloudEvent.of("/cpts/kittest", subject, ThingHappened(thing_id=subject, n=n))


async def produce(settings: ServiceSettings, *values: bytes, key: bytes = b"one-subject") -> list[RecordMetadata]:
    """Send raw messages to the service topic, in order; one key, so one partition."""
    producer = make_producer(settings)
    await producer.start()
    try:
        return [await producer.send_and_wait(settings.topic, value=value, key=key) for value in values]
    finally:
        await stop_client(producer)


async def committed_offset(bootstrap: str, group_id: str, tp: TopicPartition) -> int | None:
    """The offset the group committed on one partition (None when it committed nothing)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.committed(tp)
    finally:
        await stop_client(consumer)


APPLIED = Table(
    "kittest_applied",
    MetaData(),
    Column("event_id", String(100), nullable=False),
    Column("subject", String(100), nullable=False),
    Column("n", Integer, nullable=False),
)


class Projection:
    """The consumer side under test: one row per applied event, written in the consumer's
    transaction. It can be told to fail on a subject (after writing its row) or to block on one."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.calls: list[str] = []  # event ids, each time the handler runs
        self.failing: set[str] = set()
        self.blocking: dict[str, asyncio.Event] = {}
        self.entered = asyncio.Event()

    async def create_tables(self) -> None:
        async with self.db.engine.begin() as conn:
            await conn.run_sync(lambda c: (InboxEvent.__table__.create(c), APPLIED.create(c)))

    async def handle(self, session: AsyncSession, event: CloudEvent) -> None:
        self.calls.append(event.id)
        await session.execute(APPLIED.insert().values(event_id=event.id, subject=event.subject, n=event.data["n"]))
        gate = self.blocking.get(event.subject)
        if gate is not None:
            self.entered.set()
            await gate.wait()
        if event.subject in self.failing:
            raise RuntimeError(f"cannot apply {event.subject}")

    async def applied(self) -> list[str]:
        async with self.db.sessionmaker() as session:
            return list((await session.scalars(select(APPLIED.c.event_id).order_by(APPLIED.c.n))).all())

    async def inbox(self, group_id: str) -> list[str]:
        async with self.db.sessionmaker() as session:
            query = select(InboxEvent.event_id).where(InboxEvent.consumer_group == group_id)
            return sorted((await session.scalars(query)).all())

    async def wait_applied(self, event: CloudEvent) -> None:
        async def done() -> bool:
            return event.id in await self.applied()

        await eventually(done, f"event {event.subject} ({event.id}) applied")


class RecordingConsumer(EventConsumer):
    """The real consumer, noting each event it is asked to apply (i.e. each delivery)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delivered: list[str] = []

    async def apply(self, event: CloudEvent) -> bool:
        self.delivered.append(event.id)
        return await super().apply(event)

    async def _apply_batch(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        for record in records:
            with contextlib.suppress(ValueError):  # not a CloudEvent: dead-lettered, never delivered
                self.delivered.append(CloudEvent.from_bytes(record.value or b"").id)
        await super()._apply_batch(records)


class RunningConsumer:
    def __init__(self, consumer: RecordingConsumer) -> None:
        self.consumer = consumer
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(consumer.run(self.stop), name=f"test-consumer-{consumer.group_id}")

    async def close(self) -> None:
        """Ask the consumer to stop and wait for it (it finishes its batch and commits)."""
        self.stop.set()
        await asyncio.wait({self.task}, timeout=30)
        if not self.task.done():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            raise AssertionError(f"consumer {self.consumer.group_id} did not stop when asked")
        if not self.task.cancelled():
            self.task.result()  # a consumer that died shows here


ConsumerStarter = Callable[[Projection, KitTestSettings, str], RunningConsumer]
