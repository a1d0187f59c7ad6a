"""Consumer side: a consumer-group runner with an inbox and a dead-letter topic.

For each message: in one database transaction, skip it if its event id is already in the
inbox, otherwise apply it and record the id. Offsets are committed to Kafka only after the
database commit, so a crash replays messages and the inbox absorbs them. A message that
cannot be parsed, or fails ``max_attempts`` times, goes to ``<topic>.dlq`` with the error.
After a broker restart that lost the group's offsets, the group rejoins and reads from the
earliest offset (``auto_offset_reset``); the inbox makes that replay harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from cpts_kit import metrics
from cpts_kit.broker import ensure_topics, make_producer, stop_client
from cpts_kit.db import Base, Database, UTCDateTime, utcnow
from cpts_kit.events import CloudEvent
from cpts_kit.outbox import _wait
from cpts_kit.settings import ServiceSettings

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


class InboxEvent(Base):
    __tablename__ = "inbox"

    consumer_group: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventConsumer:
    def __init__(
        self,
        db: Database,
        settings: ServiceSettings,
        *,
        group_id: str,
        topics: Sequence[str],
        handler: Handler,
    ) -> None:
        self.db = db
        self.settings = settings
        self.group_id = group_id
        self.topics = list(topics)
        self.handler = handler
        self._consumer: AIOKafkaConsumer | None = None
        self._dlq: AIOKafkaProducer | None = None

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                await self._start()
                await self._poll_until(stop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer %s: %s; restarting in %.1fs", self.group_id, exc, backoff)
                await _wait(stop, backoff)
                backoff = min(backoff * 2, self.settings.relay_max_backoff_seconds)
            finally:
                await self._stop()

    async def _start(self) -> None:
        await ensure_topics(self.settings, [*self.topics, *(f"{t}.dlq" for t in self.topics)])
        self._consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=max(self.settings.kafka_request_timeout_ms, 10000),
            # The shortest session Kafka brokers accept by default: a restarted consumer's
            # old membership expires sooner, so the group rebalances sooner.
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            metadata_max_age_ms=5000,
        )
        await self._consumer.start()
        self._dlq = make_producer(self.settings)
        await self._dlq.start()

    async def _stop(self) -> None:
        for client in (self._consumer, self._dlq):
            if client is not None:
                await stop_client(client)
        self._consumer = self._dlq = None

    async def _poll_until(self, stop: asyncio.Event) -> None:
        assert self._consumer is not None
        while not stop.is_set():
            batches = await self._consumer.getmany(timeout_ms=500, max_records=200)
            for tp, records in batches.items():
                for record in records:
                    await self._process(record)
                if records:
                    self._record_lag(tp, records[-1].offset + 1)
            if batches:
                await self._consumer.commit()

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        service = self.settings.service_name
        try:
            event = CloudEvent.from_bytes(record.value or b"")
        except ValueError as exc:
            await self._dead_letter(record, f"not a CloudEvent: {exc}")
            return
        last_error = ""
        for attempt in range(1, self.settings.consumer_max_attempts + 1):
            try:
                applied = await self.apply(event)
                metrics.CONSUMER_EVENTS.labels(service, self.group_id, "applied" if applied else "duplicate").inc()
                return
            except Exception as exc:  # a handler bug or bad data: retry, then dead-letter
                last_error = f"{exc.__class__.__name__}: {exc}"
                log.warning(
                    "consumer %s: event %s failed (attempt %d): %s", self.group_id, event.id, attempt, last_error
                )
        await self._dead_letter(record, last_error)

    async def apply(self, event: CloudEvent) -> bool:
        """Apply one event exactly once; returns False when the inbox already had it."""
        async with self.db.sessionmaker() as session:
            seen = await session.scalar(
                select(InboxEvent.event_id).where(
                    InboxEvent.consumer_group == self.group_id, InboxEvent.event_id == event.id
                )
            )
            if seen is not None:
                await session.rollback()
                return False
            await self.handler(session, event)
            session.add(
                InboxEvent(consumer_group=self.group_id, event_id=event.id, type=event.type, source=event.source)
            )
            await session.commit()
            return True

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        assert self._dlq is not None
        metrics.CONSUMER_FAILURES.labels(self.settings.service_name, self.group_id).inc()
        metrics.CONSUMER_EVENTS.labels(self.settings.service_name, self.group_id, "dead_lettered").inc()
        headers = [
            ("error", error[:1000].encode()),
            ("original-topic", record.topic.encode()),
            ("original-partition", str(record.partition).encode()),
            ("original-offset", str(record.offset).encode()),
            ("consumer-group", self.group_id.encode()),
        ]
        await self._dlq.send_and_wait(f"{record.topic}.dlq", value=record.value, key=record.key, headers=headers)

    def _record_lag(self, tp: TopicPartition, next_offset: int) -> None:
        assert self._consumer is not None
        end = self._consumer.highwater(tp)
        if end is not None:
            lag = max(end - next_offset, 0)
            metrics.CONSUMER_LAG.labels(self.settings.service_name, self.group_id, tp.topic, str(tp.partition)).set(lag)
