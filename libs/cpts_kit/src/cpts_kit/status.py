"""What ``cpts status`` shows: for each installed service, whether it is ready, its outbox
backlog and the age of its oldest unsent event (from its database: true even when the
service is down), its consumers' lag per group (from its ``/metrics``) and its dead letters
(from the broker)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from cpts_kit.broker import broker_reachable, end_offsets
from cpts_kit.db import Database, utcnow
from cpts_kit.outbox import backlog
from cpts_kit.service import ServiceSpec
from cpts_kit.settings import ServiceSettings


async def collect(specs: list[ServiceSpec]) -> dict[str, Any]:
    bootstrap = specs[0].settings().kafka_bootstrap if specs else ""
    reachable = await broker_reachable(bootstrap)
    services = [await _service(spec.name, spec.settings(), reachable) for spec in specs]
    return {"broker": {"bootstrap": bootstrap, "reachable": reachable}, "services": services}


async def settle(specs: list[ServiceSpec], cap_seconds: float = 300.0, quiet_seconds: float = 6.0) -> float | None:
    """Until every event written is published and applied: no outbox backlog and no consumer
    lag anywhere, for ``quiet_seconds`` (consumers refresh their lag every broker check).
    Returns how long it took, or None at the cap."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    quiet_since: float | None = None
    while loop.time() - started < cap_seconds:
        services = (await collect(specs))["services"]
        idle = all(
            s["ready"] and s["outbox_backlog"] == 0 and not any((s["consumer_lag"] or {}).values()) for s in services
        )
        now = loop.time()
        quiet_since = (quiet_since or now) if idle else None
        if quiet_since is not None and now - quiet_since >= quiet_seconds:
            return now - started
        await asyncio.sleep(1.0)
    return None


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
