"""Transactional outbox (Debezium/eShop pattern) and its relay to Kafka.

A service writes its state change and the event in one transaction (:func:`enqueue`). The
relay publishes unsent events in order, records the partition and offset the broker gave each
one, and keeps them: the outbox is the durable log the platform can replay from.

Kafka offsets only grow. So the broker has lost what it was sent (the embedded broker keeps
nothing across a restart; a topic can be deleted) when it hands out an offset not above one
it handed out before: for an event, or for the heartbeat the relay sends to its own topic
``cpts.<service>.relay`` at every check, which catches a reset while no event flows. At
start, a missing heartbeat topic while events were recorded as sent means the same. The relay
then republishes everything, in order; consumers' inboxes absorb the replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from aiokafka import AIOKafkaProducer
from sqlalchemy import Index, Integer, String, Text, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from cpts_kit import metrics
from cpts_kit.broker import ensure_topics, make_producer, stop_client, topic_exists
from cpts_kit.db import Base, BigIntPK, Database, UTCDateTime, is_sqlite, utcnow
from cpts_kit.events import CloudEvent, EventPayload
from cpts_kit.settings import ServiceSettings

log = logging.getLogger(__name__)


class OutboxEvent(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "topic", "sent_at", "seq"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    partition: Mapped[int | None] = mapped_column(Integer, nullable=True)
    offset: Mapped[int | None] = mapped_column(BigIntPK, nullable=True)


def enqueue(session: AsyncSession, settings: ServiceSettings, subject: str, payload: EventPayload) -> CloudEvent:
    """Add the event to the session: it commits (or not) with the state change."""
    event = CloudEvent.of(settings.event_source, subject, payload)
    session.add(
        OutboxEvent(
            event_id=event.id,
            topic=settings.topic,
            key=subject,
            type=event.type,
            body=event.model_dump_json(),
            created_at=event.time,
        )
    )
    return event


async def mark_all_unsent(db: Database, topic: str) -> int:
    """The replay: every kept event of the topic will be published again, in order."""
    async with db.sessionmaker.begin() as session:
        result = await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.topic == topic, OutboxEvent.sent_at.is_not(None))
            .values(sent_at=None, partition=None, offset=None)
        )
    return int(getattr(result, "rowcount", 0) or 0)


class OutboxRelay:
    def __init__(self, db: Database, settings: ServiceSettings) -> None:
        self.db = db
        self.settings = settings
        self.topic = settings.topic
        self._producer: AIOKafkaProducer | None = None
        self._last_check = 0.0
        self._last_heartbeat: int | None = None
        self._ends: dict[int, int] | None = None
        self.connected = False

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                published = await self.run_once()
                backoff = 0.2
                if published == 0:
                    await _wait(stop, self.settings.relay_interval_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker down, timeouts, database busy: retry with backoff
                self.connected = False
                metrics.RELAY_ERRORS.labels(self.settings.service_name).inc()
                log.warning("outbox relay: %s: %s; retrying in %.1fs", exc.__class__.__name__, exc, backoff)
                await self._drop_producer()
                await _wait(stop, backoff)
                backoff = min(backoff * 2, self.settings.relay_max_backoff_seconds)
        await self._drop_producer()

    async def run_once(self) -> int:
        """Publish one batch of unsent events; returns how many were published."""
        await self._refresh_backlog_metrics()  # first, so the backlog shows while the broker is down
        producer = await self._ensure_producer()
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_check >= self.settings.broker_check_interval_seconds:
            await self.check_broker()
            self._last_check = loop.time()
        async with self.db.sessionmaker() as session:
            query = (
                select(OutboxEvent)
                .where(OutboxEvent.topic == self.topic, OutboxEvent.sent_at.is_(None))
                .order_by(OutboxEvent.seq)
                .limit(self.settings.relay_batch_size)
            )
            if not is_sqlite(self.db.url):
                query = query.with_for_update(skip_locked=True)
            batch = list((await session.scalars(query)).all())
            if not batch:
                await session.rollback()
                return 0
            known = await self._known_ends(session)
            # Send the batch pipelined; the producer keeps per-partition order.
            futures = [await producer.send(self.topic, value=ev.body.encode(), key=ev.key.encode()) for ev in batch]
            placed = await asyncio.gather(*futures)
            sent_at = utcnow()
            await session.execute(
                update(OutboxEvent),
                [
                    {"seq": ev.seq, "sent_at": sent_at, "partition": md.partition, "offset": md.offset}
                    for ev, md in zip(batch, placed, strict=True)
                ],
            )
            await session.commit()
        for ev in batch:
            metrics.EVENTS_PUBLISHED.labels(self.settings.service_name, ev.type).inc()
        if any(md.offset < known.get(md.partition, 0) for md in placed):
            await self._republish("the broker handed out offsets it had already given")
        else:
            for md in placed:
                known[md.partition] = max(known.get(md.partition, 0), md.offset + 1)
        return len(batch)

    async def check_broker(self) -> bool:
        """Send a heartbeat; republish everything if the broker shows it lost its logs."""
        producer = await self._ensure_producer()
        heartbeat_topic = self.settings.heartbeat_topic
        lost = ""
        if self._last_heartbeat is None and not await topic_exists(self.settings, heartbeat_topic):
            async with self.db.sessionmaker() as session:
                if await self._known_ends(session):
                    lost = "its heartbeat topic is gone while events were recorded as sent"
            # Heartbeats matter for a few seconds only: keep them a day.
            await ensure_topics(self.settings, [heartbeat_topic], partitions=1, configs={"retention.ms": "86400000"})
        # Always partition 0, whatever partition count an auto-created topic got.
        placed = await producer.send_and_wait(heartbeat_topic, b"", partition=0)
        if self._last_heartbeat is not None and placed.offset <= self._last_heartbeat:
            lost = f"the heartbeat offset went back from {self._last_heartbeat} to {placed.offset}"
        self._last_heartbeat = placed.offset
        if lost:
            await self._republish(lost)
        return bool(lost)

    async def _republish(self, why: str) -> None:
        count = await mark_all_unsent(self.db, self.topic)
        self._ends = {}
        metrics.BROKER_RESETS.labels(self.settings.service_name).inc()
        log.warning("broker lost events on %s (%s): republishing %d", self.topic, why, count)

    async def _known_ends(self, session: AsyncSession) -> dict[int, int]:
        """Per partition, the offset after the last one the broker gave us: read from the
        outbox once, then kept up to date as batches are published."""
        if self._ends is None:
            self._ends = await self._recorded_ends(session)
        return self._ends

    async def _recorded_ends(self, session: AsyncSession) -> dict[int, int]:
        rows = await session.execute(
            select(OutboxEvent.partition, func.max(OutboxEvent.offset))
            .where(OutboxEvent.topic == self.topic, OutboxEvent.partition.is_not(None))
            .group_by(OutboxEvent.partition)
        )
        return {partition: offset + 1 for partition, offset in rows if partition is not None and offset is not None}

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            await ensure_topics(self.settings, [self.topic, self.settings.dlq_topic])
            producer = make_producer(self.settings)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
            self._last_check = 0.0
            self.connected = True
        return self._producer

    async def _drop_producer(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await stop_client(producer)

    async def _refresh_backlog_metrics(self) -> None:
        async with self.db.reader() as session:  # every half second: never wait for the write lock
            count, oldest = (
                await session.execute(
                    select(func.count(), func.min(OutboxEvent.created_at)).where(
                        OutboxEvent.topic == self.topic, OutboxEvent.sent_at.is_(None)
                    )
                )
            ).one()
        metrics.OUTBOX_BACKLOG.labels(self.settings.service_name).set(count or 0)
        # min() keeps the column type, so ``oldest`` is an aware datetime on both backends.
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        metrics.OUTBOX_OLDEST_AGE.labels(self.settings.service_name).set(age)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if asked to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
