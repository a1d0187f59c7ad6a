"""What ``cpts status`` shows: for each installed service, whether it is ready, its outbox
backlog and the age of its oldest unsent event (from its database: true even when the
service is down), its consumers' lag per group (from its ``/metrics``) and its dead letters
(from the broker)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from cpts_kit.broker import broker_reachable, end_offsets, make_admin
from cpts_kit.db import Database, utcnow
from cpts_kit.outbox import backlog, recorded_ends
from cpts_kit.service import ServiceSpec
from cpts_kit.settings import ServiceSettings

log = logging.getLogger(__name__)


async def collect(specs: list[ServiceSpec]) -> dict[str, Any]:
    bootstrap = specs[0].settings().kafka_bootstrap if specs else ""
    reachable = await broker_reachable(bootstrap)
    services = [await _service(spec.name, spec.settings(), reachable) for spec in specs]
    return {"broker": {"bootstrap": bootstrap, "reachable": reachable}, "services": services}


async def settle(
    specs: list[ServiceSpec], cap_seconds: float = 300.0, quiet_seconds: float = 1.5, poll_seconds: float = 0.5
) -> float | None:
    """Until every event written is published and applied: no outbox backlog anywhere, and
    every consumer group's committed offsets at the end of the topics it reads (each event
    the group applied is committed after its transaction, hence after the events that
    transaction wrote are in its service's outbox). Twice in a row, ``quiet_seconds`` apart
    at least (a snapshot reads the services one after the other). Returns how long it took,
    or None at the cap.

    Exact, where the consumers' lag gauges are not: a consumer refreshes them every broker
    check (5 s), and not while it applies a batch, so a lag of 0 could stand for a batch
    still being applied (the next demo then read a projection still moving). The log ends
    come from the producers' outboxes (the partition and offset of each event sent) and the
    committed offsets from the broker, every ``poll_seconds``."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    databases = {spec.name: (spec.settings(), Database(spec.settings().database_url)) for spec in specs}
    admin = make_admin(specs[0].settings()) if specs else None
    try:
        if admin is not None:
            await admin.start()
        quiet_since: float | None = None
        while loop.time() - started < cap_seconds:
            try:
                idle = admin is not None and await _idle(databases, admin)
            except Exception as exc:  # a service or the broker is restarting: not idle
                log.debug("settle: %s: %s", type(exc).__name__, exc)
                idle = False
            now = loop.time()
            quiet_since = (quiet_since or now) if idle else None
            if quiet_since is not None and now - quiet_since >= quiet_seconds:
                return now - started
            await asyncio.sleep(poll_seconds)
        return None
    finally:
        if admin is not None:
            await admin.close()
        for _, db in databases.values():
            await db.dispose()


async def _idle(databases: dict[str, tuple[ServiceSettings, Database]], admin: AIOKafkaAdminClient) -> bool:
    """One look: every service ready with an empty outbox, every consumer group caught up."""
    ends: dict[str, dict[int, int]] = {}  # topic -> partition -> offset the next event gets
    groups: dict[str, set[str]] = {}  # consumer group -> the topics it reads
    for settings, db in databases.values():
        async with httpx.AsyncClient(base_url=f"http://{settings.host}:{settings.port}", timeout=3) as client:
            if (await client.get("/readyz")).status_code != 200:
                return False
            for group, topic in await _consumer_groups(client):
                groups.setdefault(group, set()).add(topic)
        if (await backlog(db, settings.topic))[0]:
            return False
        async with db.reader() as session:
            ends[settings.topic] = await recorded_ends(session, settings.topic)
    return await _caught_up(admin, groups, ends)


async def _caught_up(admin: AIOKafkaAdminClient, groups: dict[str, set[str]], ends: dict[str, dict[int, int]]) -> bool:
    """Whether each consumer group committed, in every partition of the topics it reads, the
    offset the next event will get (a partition it never committed counts from 0)."""
    for group, topics in sorted(groups.items()):
        wanted = [TopicPartition(t, p) for t in sorted(topics) for p in sorted(ends.get(t, {}))]
        if not wanted:
            continue
        committed = await admin.list_consumer_group_offsets(group, partitions=wanted)
        for tp in wanted:
            mark = committed.get(tp)
            if (mark.offset if mark is not None else -1) < ends[tp.topic][tp.partition]:
                return False
    return True


async def _consumer_groups(client: httpx.AsyncClient) -> set[tuple[str, str]]:
    """The (consumer group, topic) pairs of a service, from the labels of its lag gauges."""
    answer = await client.get("/metrics")
    return {
        (sample.labels["group"], sample.labels["topic"])
        for family in text_string_to_metric_families(answer.text)
        if family.name == "cpts_consumer_lag"
        for sample in family.samples
    }


async def _service(name: str, settings: ServiceSettings, broker_up: bool) -> dict[str, Any]:
    base = f"http://{settings.host}:{settings.port}"
    report: dict[str, Any] = {"name": name, "url": base}
    async with httpx.AsyncClient(base_url=base, timeout=3) as client:
        try:
            ready = await client.get("/readyz")
            report["ready"] = ready.status_code == 200
            report["checks"] = ready.json().get("checks", {})
        except (httpx.HTTPError, ValueError) as exc:
            report["ready"], report["checks"] = False, {"process": f"not answering: {type(exc).__name__}"}
        report["consumer_lag"] = await _consumer_lag(client) if report["ready"] else None
    db = Database(settings.database_url)
    try:
        count, oldest = await backlog(db, settings.topic)
        report["outbox_backlog"] = count
        report["oldest_unsent_seconds"] = round((utcnow() - oldest).total_seconds(), 1) if oldest else 0.0
    except Exception as exc:  # the database is what is wrong: say so
        report["outbox_backlog"] = report["oldest_unsent_seconds"] = None
        report["database_error"] = type(exc).__name__
    finally:
        await db.dispose()
    report["dead_letters"] = None
    if broker_up:
        try:
            ends = await end_offsets(settings, settings.dlq_topic)
            report["dead_letters"] = sum(ends.values()) if ends is not None else 0
        except Exception:  # the broker went down meanwhile
            report["dead_letters"] = None
    return report


async def _consumer_lag(client: httpx.AsyncClient) -> dict[str, int]:
    """Lag per consumer group, summed over its partitions, as the service measures it."""
    answer = await client.get("/metrics")
    lag: dict[str, int] = {}
    for family in text_string_to_metric_families(answer.text):
        if family.name == "cpts_consumer_lag":
            for sample in family.samples:
                group = sample.labels["group"]
                lag[group] = lag.get(group, 0) + int(sample.value)
    return lag


def render(report: dict[str, Any]) -> str:
    broker = report["broker"]
    lines = [f"broker  {broker['bootstrap']}  {'reachable' if broker['reachable'] else 'UNREACHABLE'}", ""]
    lines.append(f"{'service':12} {'ready':6} {'backlog':>8} {'oldest':>9} {'dead':>6}  consumer lag")
    for s in report["services"]:
        lag = s["consumer_lag"]
        lag_text = ", ".join(f"{g} {n}" for g, n in sorted(lag.items())) if lag else ("-" if lag is not None else "?")
        oldest = "?" if s["oldest_unsent_seconds"] is None else f"{s['oldest_unsent_seconds']:.1f}s"
        lines.append(
            f"{s['name']:12} {'yes' if s['ready'] else 'NO':6} {_n(s['outbox_backlog']):>8} {oldest:>9}"
            f" {_n(s['dead_letters']):>6}  {lag_text}"
        )
        if not s["ready"]:
            lines.append(f"{'':12} {s['checks']}")
    return "\n".join(lines)


def _n(value: int | None) -> str:
    return "?" if value is None else str(value)
