"""Transactional outbox (Debezium/eShop pattern) and its relay to Kafka.

A service writes its state change and the event in one transaction (:func:`enqueue`). The
relay publishes unsent events in order, records the partition and offset the broker gave each
one, and keeps them: the outbox is the durable log the platform can replay from.

Losing the broker's log (the embedded broker keeps nothing across a restart; a topic can be
deleted): the relay checks, at every check, that the broker still holds the last event the
outbox records as delivered in each partition, at its recorded offset. A topic missing, or
with another partition count than configured (the broker auto-created it), or a partition
that no longer holds that event means the broker lost events: the relay re-creates the topic,
takes a fresh producer (fresh metadata) and republishes everything, in order. The decision
is made from the database and the broker, not from one relay's memory, so a reset is
republished once, whichever detector or relay sees it first. The relay then sends a
heartbeat to ``cpts.<service>.relay``: its offset going back tells consumers of the reset.
The periodic check runs beside publishing, not in its way, and only reads; what it finds
lost is checked again under the topic's turn before anything is repaired.

One active relay per topic: on PostgreSQL each batch and each check that may repair runs
under a transaction-level advisory lock on the topic, so relays of several replicas take
turns and a CPTS's events keep their order (a batch is acknowledged by the broker and
recorded before the next relay selects). SQLite is the embedded, single-process mode: one
process per database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.producer.message_accumulator import BatchBuilder
from sqlalchemy import (
    Boolean,
    Index,
    Integer,
    Select,
    String,
    Table,
    Text,
    and_,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from cpts_kit import metrics
from cpts_kit.broker import (
    ensure_topics,
    make_admin,
    make_producer,
    read_at,
    recreate_topics,
    stop_client,
    topic_partition_counts,
)
from cpts_kit.db import Base, BigIntPK, Database, UTCDateTime, utcnow
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


# The relay of each topic running in this process, woken when a transaction that enqueued an
# event commits (events written by another replica wait for the relay's next poll).
_relays_awake: dict[str, asyncio.Event] = {}


@functools.cache
def _wake_relay(topic: str) -> Callable[[Session], None]:
    def after_commit(session: Session) -> None:
        awake = _relays_awake.get(topic)
        if awake is not None:
            awake.set()

    return after_commit


def enqueue(session: AsyncSession, settings: ServiceSettings, subject: str, payload: EventPayload) -> CloudEvent:
    """Add the event to the session: it commits (or not) with the state change."""
    event = CloudEvent.of(settings.event_source, subject, payload)
    wake = _wake_relay(settings.topic)
    if not sa_event.contains(session.sync_session, "after_commit", wake):
        sa_event.listen(session.sync_session, "after_commit", wake, once=True)
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
        await _take_turn(session, topic, wait=True)
        return await _mark_unsent(session, topic)


async def _mark_unsent(session: AsyncSession, topic: str) -> int:
    result = await session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.topic == topic, OutboxEvent.sent_at.is_not(None))
        .values(sent_at=None, partition=None, offset=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def _take_turn(session: AsyncSession, topic: str, *, wait: bool = False) -> bool:
    """The topic's advisory lock, until the transaction ends (PostgreSQL; SQLite has one
    process per database and serialises writers anyway)."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    if wait:
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(_turn_name(topic)))))
        return True
    return bool(await session.scalar(_try_turn(topic)))


def _turn_name(topic: str) -> str:
    return f"cpts.outbox:{topic}"


def _try_turn(topic: str) -> Select[tuple[bool]]:
    """Whether the topic's advisory lock is taken (PostgreSQL), taking it if free."""
    return select(func.pg_try_advisory_xact_lock(func.hashtext(_turn_name(topic)), type_=Boolean))


_RECORD_PLACED_POSTGRES = text(
    'UPDATE outbox SET sent_at = :sent_at, "partition" = placed.partition, "offset" = placed.offset'
    " FROM unnest(CAST(:seqs AS bigint[]), CAST(:partitions AS integer[]), CAST(:offsets AS bigint[]))"
    ' AS placed(seq, "partition", "offset") WHERE outbox.seq = placed.seq'
)


class Placed(NamedTuple):
    """Where the broker put an event."""

    partition: int
    offset: int


_PARTITIONER = DefaultPartitioner()  # the producer's own: murmur2 of the key, like Kafka's Java clients


async def _record_placed(session: AsyncSession, seqs: list[int], placed: Sequence[Placed]) -> None:
    """Where the broker put each event: one statement on PostgreSQL (a thousand single-row
    updates cost the relay more than publishing), an executemany on SQLite (in-process)."""
    sent_at = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            _RECORD_PLACED_POSTGRES,
            {
                "sent_at": sent_at,
                "seqs": seqs,
                "partitions": [md.partition for md in placed],
                "offsets": [md.offset for md in placed],
            },
        )
        return
    table = cast(Table, OutboxEvent.__table__)
    await session.execute(
        update(table)
        .where(table.c.seq == bindparam("b_seq"))
        .values(sent_at=sent_at, partition=bindparam("b_partition"), offset=bindparam("b_offset")),
        [
            {"b_seq": seq, "b_partition": md.partition, "b_offset": md.offset}
            for seq, md in zip(seqs, placed, strict=True)
        ],
    )


async def recorded_ends(session: AsyncSession, topic: str) -> dict[int, int]:
    """Per partition of ``topic``, the offset the next event will get, from the outbox (the relay
    records where each event it sent landed): exact, where the embedded broker's ``ListOffsets``
    is not after a batch of several records (see ``broker.end_offsets``)."""
    rows = await session.execute(
        select(OutboxEvent.partition, func.max(OutboxEvent.offset))
        .where(OutboxEvent.topic == topic, OutboxEvent.partition.is_not(None))
        .group_by(OutboxEvent.partition)
    )
    return {int(p): int(end) + 1 for p, end in rows if p is not None and end is not None}


class OutboxRelay:
    def __init__(self, db: Database, settings: ServiceSettings) -> None:
        self.db = db
        self.settings = settings
        self.topic = settings.topic
        self._producer: AIOKafkaProducer | None = None
        self._check_due = False  # an offset went back: run_once checks before the next batch
        # The last round published all it selected, and selected less than a batch: no need
        # for another round before a commit wakes the relay or the next poll.
        self._drained = False
        self._ends: dict[int, int] | None = None
        self.connected = False
        self.resets = 0  # broker resets this relay republished after
        self._awake = asyncio.Event()
        # Held by a publishing round and by a check that may repair (drop the producer,
        # re-create the topic, mark everything unsent): never both at once in this process.
        self._turn = asyncio.Lock()
        if settings.relay_wake_on_commit:
            _relays_awake[self.topic] = self._awake

    async def run(self, stop: asyncio.Event) -> None:
        watch = asyncio.create_task(self._watch(stop), name=f"outbox-watch-{self.topic}")
        try:
            await self._publish_until(stop)
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        await self._drop_producer()

    async def _publish_until(self, stop: asyncio.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                published = await self.run_once()
                backoff = 0.2
                if published == 0 or self._drained:
                    await self._sleep(stop)  # at once if an event was committed since the round began
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker down, timeouts, database busy: retry with backoff
                self.connected = False
                metrics.RELAY_ERRORS.labels(self.settings.service_name).inc()
                log.warning("outbox relay: %s: %s; retrying in %.1fs", exc.__class__.__name__, exc, backoff)
                async with self._turn:
                    await self._drop_producer(abort=True)
                await _wait(stop, backoff)
                backoff = min(backoff * 2, self.settings.relay_max_backoff_seconds)

    async def _sleep(self, stop: asyncio.Event) -> None:
        """Until the next poll, an event committed in this process, or ``stop``."""
        waits = [asyncio.ensure_future(self._awake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waits, timeout=self.settings.relay_interval_seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def _watch(self, stop: asyncio.Event) -> None:
        """The relay's bookkeeping, beside publishing rather than in its way: the backlog
        gauges every second (also while the broker is down), and every
        ``broker_check_interval_seconds`` the broker check. An event committed while the
        check talks to the broker (a few hundred milliseconds on a loaded machine) would
        otherwise wait for it. The check first only reads, holding no lock (the database's
        write lock on SQLite, the topic's turn on PostgreSQL); only when it finds the broker
        lost something does it take the turn and check again, from the database, before
        repairing (:meth:`check_broker`)."""
        loop = asyncio.get_running_loop()
        last_check = loop.time()  # run_once checks before its first round
        while not stop.is_set():
            try:
                await self._refresh_backlog_metrics()
                if loop.time() - last_check >= self.settings.broker_check_interval_seconds:
                    last_check = loop.time()
                    await self._check_beside()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # tried again at the next tick; publishing reports its own errors
                log.warning("outbox relay check: %s: %s", exc.__class__.__name__, exc)
            await _wait(stop, 1.0)

    async def _check_beside(self) -> None:
        producer = self._producer
        if producer is None or self._check_due:
            return  # run_once checks before its next round
        if lost := await self._what_broker_lost():
            log.info("outbox relay: %s; checking again under the topic's turn", lost)
            async with self._turn:
                await self.check_broker()
            return
        # The beacon consumers watch; always partition 0 of a one-partition topic.
        await producer.send_and_wait(self.settings.heartbeat_topic, b"", partition=0)

    async def run_once(self) -> int:
        """Publish one batch of unsent events; returns how many were published."""
        async with self._turn:
            return await self._round()

    async def _round(self) -> int:
        self._awake.clear()  # before the query: a commit from now on wakes the next sleep
        if self._producer is None or self._check_due:
            await self.check_broker()
            self._check_due = False
        producer = await self._ensure_producer()
        async with self.db.sessionmaker() as session:
            batch = await self._unsent(session)  # none either when another relay has the turn
            if not batch:
                await session.rollback()
                return 0
            known = await self._known_ends(session)
            published = await self._publish(producer, batch)
            self._drained = len(published) == len(batch) < self.settings.relay_batch_size
            await _record_placed(session, [row.seq for row, _ in published], [md for _, md in published])
            await session.commit()
        for row, _ in published:
            metrics.EVENTS_PUBLISHED.labels(self.settings.service_name, row.type).inc()
        if any(md.offset < known.get(md.partition, 0) for _, md in published):
            # Offsets only grow: the broker was probably reset. The check decides, now.
            self._ends = None
            self._check_due = True
        else:
            for _, md in published:
                known[md.partition] = max(known.get(md.partition, 0), md.offset + 1)
        return len(published)

    async def _publish(self, producer: AIOKafkaProducer, batch: list[Any]) -> list[tuple[Any, Placed]]:
        """Publish the rows in order, and where each went.

        Each partition's share goes as one record batch, which the broker appends whole or not
        at all, and the next share is handed to the producer only once this one is
        acknowledged. Message by message, a failed send could let a later event of the same
        CPTS through (the producer retries and flushes what it holds), and consumers would
        apply it before its predecessor. A partition's batch that is full ends the round: the
        rows after it wait for the next round, still in order."""
        partitions = sorted(await producer.partitions_for(self.topic))
        shares: dict[int, tuple[BatchBuilder, list[Any]]] = {}
        for row in batch:
            key = row.key.encode()
            partition = _PARTITIONER(key, partitions, partitions)
            builder, rows = shares.setdefault(partition, (producer.create_batch(), []))
            if builder.append(key=key, value=row.body.encode(), timestamp=None) is None:
                break
            rows.append(row)
        sent = {p: await producer.send_batch(builder, self.topic, partition=p) for p, (builder, _) in shares.items()}
        bases = dict(zip(sent, await asyncio.gather(*sent.values()), strict=True))
        placed = {
            row.seq: Placed(partition, bases[partition].offset + n)
            for partition, (_, rows) in shares.items()
            for n, row in enumerate(rows)
        }
        return [(row, placed[row.seq]) for row in batch if row.seq in placed]

    async def _unsent(self, session: AsyncSession) -> list[Any]:
        """The next batch to publish, in order, once the topic's turn is taken; none without
        the turn (another replica's relay is publishing the topic). Plain rows, not ORM
        objects: the relay's throughput is mostly this loop's overhead."""
        query = (
            select(OutboxEvent.seq, OutboxEvent.key, OutboxEvent.type, OutboxEvent.body)
            .where(OutboxEvent.topic == self.topic, OutboxEvent.sent_at.is_(None))
            .order_by(OutboxEvent.seq)
            .limit(self.settings.relay_batch_size)
        )
        if session.get_bind().dialect.name == "postgresql":  # (see _take_turn for SQLite)
            # The turn taken by this statement rather than one before it: a round trip less
            # before each batch. PostgreSQL runs an uncorrelated subquery once, first (an
            # InitPlan), and without the turn reads no row (a one-time filter).
            query = query.where(_try_turn(self.topic).scalar_subquery())
        return list((await session.execute(query)).all())

    async def check_broker(self) -> bool:
        """Make sure the topics are there as configured and the broker still holds what the
        outbox says it delivered; republish everything if not. Then send the heartbeat.
        Returns whether a reset was found (and republished)."""
        settings = self.settings
        lost = ""
        async with self.db.sessionmaker() as session:
            if not await _take_turn(session, self.topic):
                await session.rollback()
                return False  # the active relay checks
            await ensure_topics(settings, [settings.dlq_topic])  # dead letters are never deleted
            # Heartbeats matter for a few seconds only: keep them a day.
            await ensure_topics(
                settings, [settings.heartbeat_topic], partitions=1, configs={"retention.ms": "86400000"}, repair=True
            )
            created = await ensure_topics(settings, [self.topic], repair=True)
            recorded = await recorded_ends(session, self.topic)  # (on SQLite, the write lock from here)
            if created and recorded:
                lost = "the topic was missing or had another partition count"
            elif recorded:
                lost = await self._missing_deliveries(session, recorded)
            if lost:
                # What the producer still holds (retried to whichever broker answers) must not
                # land after the topic is emptied, before its predecessors: drop it first. The
                # topic is then emptied of what landed meanwhile, and a new producer fetches
                # its metadata.
                await self._drop_producer(abort=True)
                await recreate_topics(settings, [self.topic])
                count = await _mark_unsent(session, self.topic)
                await session.commit()
                self._ends = {}
                self.resets += 1
                metrics.BROKER_RESETS.labels(settings.service_name).inc()
                log.warning("broker lost events on %s (%s): republishing %d", self.topic, lost, count)
            else:
                await session.rollback()
                self._ends = recorded
        producer = await self._ensure_producer()
        # The beacon consumers watch; always partition 0 of a one-partition topic.
        await producer.send_and_wait(settings.heartbeat_topic, b"", partition=0)
        return bool(lost)

    async def _what_broker_lost(self) -> str:
        """The periodic check's first pass, which only reads: the relay's topics are there
        (its own and the heartbeat's with their partition counts), and the broker still holds
        the last event the outbox records as delivered in each partition. What looks lost,
        or "". Publishing goes on meanwhile; it only adds after what is checked."""
        settings = self.settings
        admin = make_admin(settings)
        await admin.start()
        try:
            counts = await topic_partition_counts(admin, [self.topic, settings.dlq_topic, settings.heartbeat_topic])
        finally:
            await admin.close()
        wanted = {self.topic: settings.kafka_partitions, settings.heartbeat_topic: 1}
        if wrong := [topic for topic, n in wanted.items() if counts.get(topic) != n]:
            return f"{wrong[0]} is missing or has another partition count"
        if settings.dlq_topic not in counts:  # created, never repaired: dead letters are kept
            return f"{settings.dlq_topic} is missing"
        async with self.db.reader() as session:  # no write lock, no turn
            recorded = await recorded_ends(session, self.topic)
            expected = await self._last_delivered(session, recorded)
        return await self._missing_from_broker(recorded, expected)

    async def _missing_deliveries(self, session: AsyncSession, recorded: dict[int, int]) -> str:
        """Whether the broker still holds, in each partition, the last event recorded as
        delivered there, at its recorded offset (what was lost, or "")."""
        return await self._missing_from_broker(recorded, await self._last_delivered(session, recorded))

    async def _last_delivered(self, session: AsyncSession, recorded: dict[int, int]) -> dict[int, bytes]:
        """The body of the last event recorded as delivered in each partition."""
        if not recorded:
            return {}
        rows = await session.execute(
            select(OutboxEvent.partition, OutboxEvent.body).where(
                OutboxEvent.topic == self.topic,
                or_(*(and_(OutboxEvent.partition == p, OutboxEvent.offset == n - 1) for p, n in recorded.items())),
            )
        )
        return {partition: body.encode() for partition, body in rows if partition is not None}

    async def _missing_from_broker(self, recorded: dict[int, int], expected: dict[int, bytes]) -> str:
        if not expected:
            return ""
        held = await read_at(self.settings, self.topic, {p: recorded[p] - 1 for p in expected})
        gone = sorted(p for p, value in held.items() if value != expected[p])
        if not gone:
            return ""
        return f"partition {gone[0]} no longer holds offset {recorded[gone[0]] - 1} ({len(gone)} such)"

    async def _known_ends(self, session: AsyncSession) -> dict[int, int]:
        """Per partition, the offset after the last one the broker gave us: read from the
        outbox once, then kept up to date as batches are published."""
        if self._ends is None:
            self._ends = await recorded_ends(session, self.topic)
        return self._ends

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = make_producer(self.settings)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
            self.connected = True
        return self._producer

    async def _drop_producer(self, *, abort: bool = False) -> None:
        """Stop the producer; with ``abort``, fail what it still holds instead of delivering it
        (after a failed round the relay sends it again, in order, with what follows)."""
        if self._producer is not None:
            producer, self._producer = self._producer, None
            if abort:
                # aiokafka's stop() flushes: it would deliver these later, out of order.
                producer._message_accumulator.fail_all(KafkaConnectionError("the relay dropped its producer"))
            await stop_client(producer)

    async def _refresh_backlog_metrics(self) -> None:
        count, oldest = await backlog(self.db, self.topic)
        metrics.OUTBOX_BACKLOG.labels(self.settings.service_name).set(count)
        age = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
        metrics.OUTBOX_OLDEST_AGE.labels(self.settings.service_name).set(age)


async def backlog(db: Database, topic: str) -> tuple[int, datetime | None]:
    """How many events wait to be published on the topic, and when the oldest was written."""
    async with db.reader() as session:  # every half second: never wait for the write lock
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(OutboxEvent.created_at)).where(
                    OutboxEvent.topic == topic, OutboxEvent.sent_at.is_(None)
                )
            )
        ).one()
    # min() keeps the column type, so ``oldest`` is an aware datetime on both backends.
    return int(count or 0), oldest


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if asked to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
