"""Fault injection: nothing lost, nothing applied twice, whatever fails.

Each test starts the broker and the services as separate processes (``cpts serve``, on
PostgreSQL), writes through the registry's public API, injects one fault, and then checks on
the funding service's projection and API that every write arrived exactly once and in order
per CPTS. Each prints its recovery time (``-s`` shows it; ``bench/events.py`` reports it too).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fault_platform import LIFECYCLE, Platform, keep_writing, metric

from cpts_kit.broker import end_offsets
from cpts_kit.settings import ServiceSettings
from cpts_kit.testing import eventually, read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.broker]


@pytest.fixture
async def platform(tmp_path: Path) -> AsyncIterator[Platform]:
    """Two PostgreSQL databases (registry, funding), migrated; the broker started. The test
    starts the services. Fails, never skips, when PostgreSQL is unreachable."""
    async with Platform.on_postgres(tmp_path, ["registry", "funding"]) as running:
        yield running


def report(test: str, seconds: float, detail: str = "") -> None:
    print(f"\nRECOVERY {test}: {seconds:.2f}s {detail}".rstrip())


def broker_settings(platform: Platform) -> ServiceSettings:
    return ServiceSettings(kafka_bootstrap=platform.broker.bootstrap)


async def test_broker_killed_and_restarted_empty_while_writes_continue(platform: Platform) -> None:
    registry, funding = platform.start_together(("registry", None, {}), ("funding", None, {}))
    async with httpx.AsyncClient(base_url=registry.url, timeout=10) as client:
        await platform.write(client, 6)
        await platform.wait_applied("before the fault")
        stop = asyncio.Event()
        writer = asyncio.create_task(keep_writing(platform, registry.url, stop))
        await asyncio.sleep(1.0)
        platform.broker.kill()  # kill -9: the log, the topics and the group offsets are gone
        before = len(platform.written)
        assert (await client.get("/readyz")).status_code == 503

        async def written_during_outage() -> bool:  # the registry keeps answering 201 meanwhile
            return len(platform.written) >= before + 2

        await eventually(written_during_outage, "two CPTS registered while the broker is down", cap_seconds=120)
        outage = len(platform.written)
        platform.broker.start()  # the same command line, empty
        restarted = time.monotonic()
        await asyncio.sleep(1.0)
        stop.set()
        during = await writer
        assert during > 0 and outage > 6
        await platform.wait_applied("after the broker came back")
    recovery = time.monotonic() - restarted
    await platform.assert_exactly_once()
    await platform.assert_aci_payments_accepted(funding.url)
    # The relay re-created its topic with the configured partitions and republished once.
    ends = await end_offsets(broker_settings(platform), "cpts.registry.events")
    assert ends is not None and len(ends) == 6
    assert metric(registry.url, "cpts_broker_resets_total") == 1
    report("broker killed and restarted empty", recovery, f"({platform.events_written} events)")


async def test_consumer_killed_mid_stream_and_restarted(platform: Platform) -> None:
    registry, funding = platform.start_together(("registry", None, {}), ("funding", None, {}))
    stop = asyncio.Event()
    writer = asyncio.create_task(keep_writing(platform, registry.url, stop))
    await eventually(lambda: _applied_at_least(platform, 30), "funding applied 30 events", cap_seconds=180)
    funding.kill()  # kill -9 mid-stream: transactions in flight roll back, offsets stay behind
    await asyncio.sleep(1.0)
    funding = platform.start("funding", port=funding.port)
    restarted = time.monotonic()
    await asyncio.sleep(1.0)
    stop.set()
    await writer
    await platform.wait_applied("after funding came back")
    recovery = time.monotonic() - restarted
    await platform.assert_exactly_once()
    await platform.assert_aci_payments_accepted(funding.url)
    report("consumer killed (kill -9) and restarted", recovery, f"({platform.events_written} events)")


async def test_producer_killed_between_commit_and_send_and_restarted(platform: Platform) -> None:
    # A relay that only polls, every minute: the writes commit, their events wait in the outbox.
    slow_relay = {"CPTS_REGISTRY_RELAY_INTERVAL_SECONDS": "60", "CPTS_REGISTRY_RELAY_WAKE_ON_COMMIT": "false"}
    registry, funding = platform.start_together(("registry", None, slow_relay), ("funding", None, {}))
    settings = broker_settings(platform)

    async def relay_went_to_sleep() -> bool:  # its first round, with nothing to send, is over
        ends = await end_offsets(settings, "cpts.registry.relay")
        return bool(ends and ends[0] >= 1)

    await eventually(relay_went_to_sleep, "the registry relay's first heartbeat")
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(base_url=registry.url, timeout=10) as client:
        await platform.write(client, 8)
    (unsent,) = await platform.registry_query("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    assert unsent[0] == platform.events_written == 24  # committed, not sent
    registry.kill()
    assert await platform.applied() == 0
    registry = platform.start("registry", port=registry.port)
    restarted = time.monotonic()
    await platform.wait_applied("after the registry came back")
    recovery = time.monotonic() - restarted
    async with httpx.AsyncClient(base_url=registry.url, timeout=10) as client:
        await platform.write(client, 2)  # and it goes on
    await platform.wait_applied("the writes after the restart")
    await platform.assert_exactly_once()
    await platform.assert_aci_payments_accepted(funding.url)
    report("producer killed between commit and send", recovery, f"({platform.events_written} events)")


async def test_a_poison_message_goes_to_the_dlq_and_the_consumer_goes_on(platform: Platform, tmp_path: Path) -> None:
    registry, funding = platform.start_together(("registry", None, {}), ("funding", None, {}))
    async with httpx.AsyncClient(base_url=registry.url, timeout=10) as client:
        await platform.write(client, 3)
        await platform.wait_applied("before the poison")
        producer = AIOKafkaProducer(bootstrap_servers=platform.broker.bootstrap)
        await producer.start()
        try:
            poison = await producer.send_and_wait(
                "cpts.registry.events", b"{not json", key=next(iter(platform.written)).encode()
            )
        finally:
            await producer.stop()
        poisoned = time.monotonic()
        await platform.write(client, 3)  # behind the poison, on the same partition for the first
        await platform.wait_applied("the events behind the poison")
    recovery = time.monotonic() - poisoned
    await platform.assert_exactly_once()
    (dead,) = await read_topic(platform.broker.bootstrap, "cpts.registry.events.dlq", expect=1, wait_seconds=10)
    headers = {k: v.decode() for k, v in dead.headers}
    assert dead.value == b"{not json" and headers["consumer-group"] == "funding.registry"
    assert headers["error"].startswith("not a CloudEvent")
    assert (headers["original-partition"], headers["original-offset"]) == (str(poison.partition), str(poison.offset))
    assert metric(funding.url, "cpts_consumer_events_total", outcome="dead_lettered") == 1
    # The operator sees it: `cpts status` counts the dead letter; nothing waits in the outbox.
    command = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cpts_kit.cli",
        "status",
        "--json",
        env=platform.env | {"CPTS_REGISTRY_PORT": str(registry.port), "CPTS_FUNDING_PORT": str(funding.port)},
        stdout=subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(command.communicate(), 60)
    assert command.returncode == 0
    services = {s["name"]: s for s in json.loads(out)["services"]}
    assert services["registry"]["dead_letters"] == 1 and services["registry"]["outbox_backlog"] == 0
    assert services["registry"]["ready"] and services["funding"]["ready"]
    # Funding also consumes documents' and indicators' topics (their groups appear, with no lag).
    lag = services["funding"]["consumer_lag"]
    assert lag["funding.registry"] == 0 and not any(lag.values()), lag
    report("poison message dead-lettered", recovery)


async def test_two_relays_of_the_registry_keep_each_cpts_in_order(platform: Platform) -> None:
    first, second, _ = platform.start_together(("registry", None, {}), ("registry", None, {}), ("funding", None, {}))
    clients = [httpx.AsyncClient(base_url=p.url, timeout=10) for p in (first, second)]
    try:
        # Each CPTS's events written alternately through both replicas, concurrently.
        ids = [await platform.register(clients[n % 2]) for n in range(12)]
        for step in range(len(LIFECYCLE)):
            await asyncio.gather(*(platform.advance(clients[(n + step + 1) % 2], i) for n, i in enumerate(ids)))
        last_write = time.monotonic()
        await platform.wait_applied("both relays delivered")
    finally:
        for client in clients:
            await client.aclose()
    delivery = time.monotonic() - last_write
    await platform.assert_exactly_once()
    # Per CPTS, the broker placed the events in the order they were written (outbox seq).
    rows = await platform.registry_query('SELECT key, partition, "offset" FROM outbox ORDER BY seq')
    places: dict[str, list[tuple[int, int]]] = {}
    for key, partition, offset in rows:
        places.setdefault(key, []).append((partition, offset))
    for key, seen in places.items():
        assert len({p for p, _ in seen}) == 1, key
        assert [o for _, o in seen] == sorted(o for _, o in seen), key
    # Both relays ran, and no event was published twice.
    published = [metric(p.url, "cpts_events_published_total") for p in (first, second)]
    assert sum(published) == len(rows) == 36
    report("two relays at once", delivery, f"(published {published[0]:.0f} + {published[1]:.0f})")


async def _applied_at_least(platform: Platform, count: int) -> bool:
    return await platform.applied() >= count
