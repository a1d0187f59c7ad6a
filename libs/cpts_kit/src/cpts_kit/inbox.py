"""Consumer side: a consumer-group runner with an inbox and a dead-letter topic.

For each fetched batch of messages: in one database transaction, write the batch's event ids
into the inbox (one ``INSERT ... ON CONFLICT DO NOTHING RETURNING``: the ids it wrote are the
events not applied yet), apply those in order, and commit once per batch, not per event (a
projection catching up on tens of thousands of events is bound by commits).
Offsets are committed to Kafka only after the database commit, so a crash replays messages
and the inbox absorbs them. A message that cannot be parsed, or whose handler fails
``max_attempts`` times (the batch is then applied again with a savepoint per event, the
failing one rolled back alone each time), goes to ``<topic>.dlq`` with the error, and the rest
of the batch is applied.
A database that cannot be reached is not the event's fault: the consumer stops without
committing and starts again from its last committed offset, so it never skips an offset it
has not applied.

A broker reset (the embedded broker keeps nothing across a restart): the consumer checks,
every ``broker_check_interval_seconds``, that no position is above its partition's log end
and that the producing relay's heartbeat offset (``cpts.<service>.relay``) did not go back,
and before applying what it fetched, that the broker still holds the last record it applied
in the partition where it was (a broker refilled past our position by the relay's republish
would otherwise hand us a CPTS's later events before its earlier ones). If any of these
fails, it reads every partition again from the beginning (the inbox absorbs what it already
applied). Consumers subscribe by pattern, so their metadata requests never make the
broker auto-create a topic with its own partition count; they create a missing topic with
the configured partitions themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy import String, Table
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from cpts_kit import metrics
from cpts_kit.broker import ensure_topics, make_producer, stop_client
from cpts_kit.db import Base, Database, UTCDateTime, insert_for, utcnow
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


def heartbeat_topic_of(topic: str) -> str:
    """The relay heartbeat of the service producing ``cpts.<service>.events``."""
    return topic.removesuffix(".events") + ".relay"


def _unreachable(exc: Exception) -> bool:
    """The database (or the network) failed, not the event: never dead-letter for that."""
    if isinstance(exc, OperationalError | InterfaceError | OSError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


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
        self._probe: AIOKafkaConsumer | None = None  # reads the producing relays' heartbeat ends
        self._positions: dict[TopicPartition, int] = {}  # next offset to apply, per partition
        # The last record applied per partition, and the partitions fetched again from it.
        self._anchors: dict[TopicPartition, tuple[int, bytes | None]] = {}
        self._sought: set[TopicPartition] = set()
        self._beacons: dict[str, int] = {}  # relay heartbeat topic -> its log end last seen
        self._last_check = 0.0
        self.resets = 0  # broker resets this consumer read everything again after

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            try:
                await self._start()
                backoff = 0.2
                await self._poll_until(stop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer %s: %s: %s; restarting in %.1fs", self.group_id, type(exc).__name__, exc, backoff)
                await _wait(stop, backoff)
                backoff = min(backoff * 2, self.settings.relay_max_backoff_seconds)
            finally:
                await self._stop()

    @property
    def _own_topics(self) -> list[str]:
        return [*self.topics, *(f"{t}.dlq" for t in self.topics)]

    async def _start(self) -> None:
        # Without a group, subscribed by pattern: it holds metadata for every topic (so asking
        # for a heartbeat's end is one round trip) and never names a topic the broker would
        # then auto-create. The pattern matches no topic (a topic's name is never empty): a
        # consumer fetches what it is assigned, the broker holds a fetch at a log's end for
        # the whole long-poll, and a request on the connection behind it (the heartbeat's
        # end, before each batch applied) waits for that: up to 0.5 s.
        self._probe = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            enable_auto_commit=False,
            metadata_max_age_ms=1000,
            request_timeout_ms=max(self.settings.kafka_request_timeout_ms, 10000),
        )
        await self._probe.start()
        self._probe.subscribe(pattern="^$")
        if self._beacons:  # restarted after seeing the relays: the broker may have been reset meanwhile
            await self._wait_for_relays()
        await ensure_topics(self.settings, self._own_topics)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=max(self.settings.kafka_request_timeout_ms, 10000),
            # The shortest session Kafka brokers accept by default: a restarted consumer's
            # old membership expires sooner, so the group rebalances sooner.
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            # The embedded broker holds an empty fetch this long even when a record arrives
            # meanwhile (see the setting).
            fetch_max_wait_ms=self.settings.consumer_fetch_max_wait_ms,
            # A pattern subscription learns of (re-)created topics at metadata refreshes.
            metadata_max_age_ms=min(5000, max(1000, int(self.settings.broker_check_interval_seconds * 1000))),
        )
        await self._consumer.start()
        self._consumer.subscribe(pattern="^(" + "|".join(re.escape(t) for t in self.topics) + ")$")
        self._dlq = make_producer(self.settings)
        await self._dlq.start()
        self._positions, self._anchors, self._sought = {}, {}, set()
        self._last_check = asyncio.get_running_loop().time()

    async def _stop(self) -> None:
        for client in (self._consumer, self._dlq, self._probe):
            if client is not None:
                await stop_client(client)
        self._consumer = self._dlq = self._probe = None

    async def _poll_until(self, stop: asyncio.Event) -> None:
        assert self._consumer is not None
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            batches = await self._consumer.getmany(timeout_ms=500, max_records=self.settings.consumer_batch_size)
            # First, before anything awaits: a partition to fetch again from its anchor is
            # sought now. Once this task yields, the fetcher sends its next request from the
            # old position, and the broker holds a request with nothing to return for the
            # whole long-poll: the fetch from the anchor would wait behind it.
            batches, why = self._after_anchors(batches)
            if why:
                await self._read_again(why)
                continue
            records = [record for partition in batches.values() for record in partition]
            # Before applying anything: records fetched at a stale position from a broker that
            # was reset and refilled would be applied out of order (a CPTS's later event
            # before its earlier ones, republished below our position).
            if records and (why := await self._beacon_went_back()):
                await self._read_again(why)
                continue
            if records:
                await self._apply_batch(records)
            done: dict[TopicPartition, int] = {}
            for tp, fetched in batches.items():
                if fetched:
                    done[tp] = self._positions[tp] = fetched[-1].offset + 1
                    self._anchors[tp] = (fetched[-1].offset, fetched[-1].value)
            if done:
                # Exactly what was applied; a failure before this line replays it (inbox).
                await self._consumer.commit(done)
            if loop.time() - self._last_check >= self.settings.broker_check_interval_seconds:
                self._last_check = loop.time()
                why = await self._position_above_log_end() or await self._beacon_went_back()
                if why:
                    await self._read_again(why)

    def _after_anchors(
        self, batches: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]
    ) -> tuple[dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]], str]:
        """The fetched records that follow, in the broker's log, the last record this consumer
        applied in their partition (its anchor), and why not if the broker no longer holds
        that record where it was (it was reset and refilled past our position: what follows
        is not what followed).

        A fetch that starts after the anchor cannot tell: the partition is fetched again from
        the anchor, which then comes first and is checked and dropped. While catching up,
        that costs a fetch per batch; idle, nothing."""
        assert self._consumer is not None
        following: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {}
        for tp, records in batches.items():
            anchor = self._anchors.get(tp)
            if not records or anchor is None:
                following[tp] = records
                continue
            offset, value = anchor
            if records[0].offset == offset:
                self._sought.discard(tp)
                if records[0].value != value:
                    return {}, f"{tp.topic}[{tp.partition}] holds another record at {offset} than the one applied"
                following[tp] = records[1:]
            elif tp in self._sought:
                return {}, f"{tp.topic}[{tp.partition}] no longer holds offset {offset}, the last one applied"
            else:
                self._sought.add(tp)
                self._consumer.seek(tp, offset)
        return following, ""

    async def _position_above_log_end(self) -> str:
        """Also refreshes the lag gauges."""
        assert self._consumer is not None
        why = ""
        for tp in sorted(self._consumer.assignment()):
            # The fetch responses' high watermark (the embedded broker's ListOffsets answer is
            # wrong after a batch of several records; see broker.end_offsets).
            end, position = self._consumer.highwater(tp), self._positions.get(tp)
            if end is None:
                continue
            if position is None:
                # Nothing applied since this consumer (re)started: it may be caught up at the
                # group's committed offset, which its fetch position says (reporting the whole
                # log as lag held `cpts status` and the start command's settling for minutes).
                with contextlib.suppress(KafkaError, TimeoutError):
                    position = await asyncio.wait_for(self._consumer.position(tp), 5)
            if position is not None and position > end:
                why = f"{tp.topic}[{tp.partition}] ends at {end}, below the position {position}"
            lag = max(end - position, 0) if position is not None else end
            metrics.CONSUMER_LAG.labels(self.settings.service_name, self.group_id, tp.topic, str(tp.partition)).set(lag)
        return why

    async def _beacon_went_back(self) -> str:
        """Whether a producing relay's heartbeat offset went back (or its topic vanished)."""
        why = ""
        for topic in self.topics:
            beacon = heartbeat_topic_of(topic)
            last = self._beacons.get(beacon)
            # A topic gone since the last metadata refresh fails here: the consumer restarts,
            # and the next check sees it gone.
            end = await self._beacon_end(beacon)
            if end is None:
                if last is not None:
                    why = why or f"the relay heartbeat topic {beacon} is gone"
                    self._beacons.pop(beacon)
                continue
            if last is not None and end < last:
                why = why or f"the relay heartbeat on {beacon} went back from {last} to {end}"
            self._beacons[beacon] = end
        return why

    async def _read_again(self, why: str) -> None:
        assert self._consumer is not None
        self.resets += 1
        metrics.CONSUMER_RESETS.labels(self.settings.service_name, self.group_id).inc()
        log.warning("consumer %s: the broker was reset (%s): reading every partition again", self.group_id, why)
        await self._wait_for_relays()
        await ensure_topics(self.settings, self._own_topics)
        assigned = list(self._consumer.assignment())
        if assigned:
            await self._consumer.seek_to_beginning(*assigned)
        self._positions, self._anchors, self._sought = {}, {}, set()

    async def _wait_for_relays(self) -> None:
        """Until each producing relay has checked the broker (its heartbeat is there): after a
        reset, the relay empties its topic and republishes only then. Reading before would take
        what was in flight when the broker went down, a CPTS's later events without their
        predecessors. Bounded: a producer that does not run must not hold its consumers."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.consumer_relay_wait_seconds
        while not await self._relays_beating():
            if loop.time() >= deadline:
                log.warning("consumer %s: no relay heartbeat on every topic yet; reading anyway", self.group_id)
                return
            await asyncio.sleep(0.5)

    async def _relays_beating(self) -> bool:
        for topic in self.topics:
            try:
                end = await self._beacon_end(heartbeat_topic_of(topic))
            except (KafkaError, TimeoutError):  # metadata older than the broker: not there yet
                return False
            if end is None or end < 1:
                return False
        return True

    async def _beacon_end(self, beacon: str) -> int | None:
        """A relay heartbeat topic's log end, None when the probe knows no such topic. Exact
        for heartbeats (one record per request; see broker.end_offsets)."""
        assert self._probe is not None
        if self._probe.partitions_for_topic(beacon) is None:
            return None
        tp = TopicPartition(beacon, 0)
        return int((await asyncio.wait_for(self._probe.end_offsets([tp]), 10))[tp])

    async def _apply_batch(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply the fetched records in one transaction. Optimistically first, with no savepoint
        (one per event costs the consumer about half its time on SQLite); if an event fails,
        the transaction is rolled back and the batch applied again with a savepoint per event:
        the failing one is rolled back alone, retried, then dead-lettered, and the others apply.
        The optimistic failure counts as that event's first attempt."""
        events: list[tuple[ConsumerRecord[bytes, bytes], CloudEvent]] = []
        for record in records:
            try:
                events.append((record, CloudEvent.from_bytes(record.value or b"")))
            except ValueError as exc:
                await self._dead_letter(record, f"not a CloudEvent: {exc}")
        if not events:
            return
        failed: dict[str, str] = {}  # event id -> the optimistic pass's error
        try:
            outcomes = await self._apply_events(events, failed=None)
        except Exception as exc:
            if _unreachable(exc):
                raise  # restart from the last committed offset once the database is back
            failing = getattr(exc, "cpts_event_id", "")
            failed[failing] = f"{exc.__class__.__name__}: {exc}"
            log.warning("consumer %s: event %s failed (attempt 1): %s", self.group_id, failing, failed[failing])
            outcomes = await self._apply_events(events, failed=failed)
        for outcome in filter(None, outcomes):
            metrics.CONSUMER_EVENTS.labels(self.settings.service_name, self.group_id, outcome).inc()

    async def _apply_events(
        self, events: list[tuple[ConsumerRecord[bytes, bytes], CloudEvent]], failed: dict[str, str] | None
    ) -> list[str]:
        """One transaction; with ``failed`` (the careful pass), a savepoint per event."""
        outcomes: list[str] = []
        async with self.db.sessionmaker() as session:
            # The optimistic pass claims the whole batch first (the careful pass, each event in
            # its savepoint, so that a dead-lettered event leaves no inbox row and can be replayed).
            claimed = await self._claim(session, [event for _, event in events]) if failed is None else set()
            for record, event in events:
                if failed is not None:
                    outcomes.append(await self._apply_one(session, record, event, failed.get(event.id)))
                    continue
                if event.id not in claimed:  # applied before, or earlier in this batch
                    outcomes.append("duplicate")
                    continue
                claimed.discard(event.id)
                try:
                    await self.handler(session, event)
                except Exception as exc:
                    exc.cpts_event_id = event.id  # type: ignore[attr-defined]  # which one, for the careful pass
                    raise
                outcomes.append("applied")
            await session.commit()
        return outcomes

    async def _apply_one(
        self, session: AsyncSession, record: ConsumerRecord[bytes, bytes], event: CloudEvent, failed: str | None
    ) -> str:
        """In a savepoint, ``max_attempts`` times at most (``failed``: the first already did)."""
        last_error, first = failed or "", 2 if failed else 1
        for attempt in range(first, self.settings.consumer_max_attempts + 1):
            try:
                async with session.begin_nested():
                    if not await self._claim(session, [event]):
                        return "duplicate"  # applied before, or earlier in this batch
                    await self.handler(session, event)
                return "applied"
            except Exception as exc:  # a handler bug or bad data: retry, then dead-letter
                if _unreachable(exc):
                    raise  # restart from the last committed offset once the database is back
                last_error = f"{exc.__class__.__name__}: {exc}"
                log.warning(
                    "consumer %s: event %s failed (attempt %d): %s", self.group_id, event.id, attempt, last_error
                )
        await self._dead_letter(record, last_error)  # counted there
        return ""

    async def _claim(self, session: AsyncSession, events: list[CloudEvent]) -> set[str]:
        """Writes the inbox rows of ``events`` that are not there yet, in one statement, and
        returns their ids: the events to apply in this transaction. The primary key decides
        (``ON CONFLICT DO NOTHING``), where a look-up first cost one more statement and, on a
        young PostgreSQL table without statistics, a sequential scan (150-250 ms for 500 ids
        among 20,000 rows). No ORM objects: they cost a unit of work each, and every query of
        the handlers flushed them."""
        group, at = self.group_id, utcnow()
        rows = {  # one row per id: an id twice in a batch is applied once
            e.id: {"consumer_group": group, "event_id": e.id, "type": e.type, "source": e.source, "processed_at": at}
            for e in events
        }
        if not rows:
            return set()
        table = cast(Table, InboxEvent.__table__)
        statement = (
            insert_for(session)(table)
            .on_conflict_do_nothing(index_elements=[table.c.consumer_group, table.c.event_id])
            .returning(table.c.event_id)
        )
        return set((await session.execute(statement, list(rows.values()))).scalars())

    async def apply(self, event: CloudEvent) -> bool:
        """Apply one event exactly once; returns False when the inbox already had it."""
        async with self.db.sessionmaker() as session:
            if not await self._claim(session, [event]):
                await session.rollback()
                return False
            await self.handler(session, event)
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
