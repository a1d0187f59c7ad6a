"""The platform as separate processes, for the fault-injection and headline tests: the embedded
broker, and any of the services each started with ``cpts serve`` on its own PostgreSQL
database, with short relay and broker-check intervals. Writes go through the registry's public
API; what funding applied is read from its database and its API."""

from __future__ import annotations

import asyncio
import importlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from cpts_funding.settings import FundingSettings
from cpts_kit import processes
from cpts_kit.auth import issue_dev_token
from cpts_kit.broker import EmbeddedBroker, free_port
from cpts_kit.identifiers import with_luhn_key
from cpts_kit.service import upgrade
from cpts_kit.testing import create_postgres_database, drop_postgres_database

# Short intervals so that a fault is noticed within a second or two.
TUNING = {
    "CPTS_RELAY_INTERVAL_SECONDS": "0.05",
    "CPTS_BROKER_CHECK_INTERVAL_SECONDS": "0.5",
    "CPTS_RELAY_MAX_BACKOFF_SECONDS": "0.5",
    "CPTS_KAFKA_REQUEST_TIMEOUT_MS": "3000",
    "CPTS_LOG_JSON": "false",
}
LIFECYCLE = [("health_project_validated", "2022-06-01"), ("aci_signed", "2024-02-01")]
STATUSES = ["intention_letter_signed", *(to for to, _ in LIFECYCLE)]


@dataclass
class Process:
    name: str
    port: int
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """``kill -9``: no shutdown, no flush."""
        if self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Platform:
    tmp: Path
    registry_db: str = ""
    funding_db: str = ""
    tuned: bool = True  # short relay and check intervals (False: the shipped defaults)
    databases: dict[str, str] = field(default_factory=dict)  # service -> its database URL
    broker: EmbeddedBroker = field(init=False)
    processes: list[Process] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)  # CPTS id -> statuses reached (1..3)
    populations: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        named = {"registry": self.registry_db, "funding": self.funding_db}
        self.databases = {name: url for name, url in named.items() if url} | self.databases
        self.registry_db = self.databases.get("registry", "")
        self.funding_db = self.databases.get("funding", "")
        self.broker = EmbeddedBroker(free_port(), log_file=self.tmp / "broker.log", die_with_parent=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CPTS_")}
        self.env |= (TUNING if self.tuned else {"CPTS_LOG_JSON": "false"}) | {
            "CPTS_STATE_DIR": str(self.tmp),
            "CPTS_EMBEDDED": "true",  # the services verify the development key's tokens
            "CPTS_KAFKA_BOOTSTRAP": self.broker.bootstrap,
        }
        self.env |= {f"CPTS_{name.upper()}_DATABASE_URL": url for name, url in self.databases.items()}
        settings = FundingSettings(state_dir=self.tmp, database_url=self.funding_db, embedded=True)
        self.headers = {"Authorization": "Bearer " + issue_dev_token(settings, role="cnam")}
        # The health project is the State's decision (DGOS), the ACI the Assurance maladie's act.
        self.transition_headers = {
            "health_project_validated": {"Authorization": "Bearer " + issue_dev_token(settings, role="dgos")},
            "aci_signed": self.headers,
        }
        self._settings = settings
        self._sirens = 0
        self._born = time.monotonic()

    @classmethod
    @asynccontextmanager
    async def on_postgres(cls, tmp: Path, services: list[str], **env: str) -> AsyncIterator[Platform]:
        """A throw-away PostgreSQL database per service, migrated, and the broker started; the
        test starts the services. Stops what it started and drops the databases. Fails, never
        skips, when PostgreSQL is unreachable. ``env`` adds variables for every service."""
        urls = await asyncio.gather(*(create_postgres_database() for _ in services))
        running = cls(tmp, databases=dict(zip(services, urls, strict=True)))
        running.env |= env
        try:
            await running.migrate()
            running.broker.start()
            running.mark(f"broker on {running.broker.bootstrap}, {len(services)} databases migrated")
            yield running
        finally:
            running.stop_all()
            for url in urls:
                await drop_postgres_database(url)

    def auth(self, role: str, **claims: Any) -> dict[str, str]:
        """The headers of a development token for ``role`` (``region=``, ``cpts=``...)."""
        return {"Authorization": "Bearer " + issue_dev_token(self._settings, role=role, **claims)}

    def mark(self, what: str) -> None:
        """A timestamped step in the test's output (where the time goes when one is slow)."""
        print(f"[{time.monotonic() - self._born:6.1f}s] {what}")

    async def migrate(self) -> None:
        for name, url in self.databases.items():
            await upgrade(importlib.import_module(f"cpts_{name}.service").spec, url)

    def start(self, name: str, *, port: int | None = None, **env: str) -> Process:
        """``cpts serve <name>`` as its own process; waits until it answers /healthz."""
        (process,) = self.start_together((name, port, env))
        return process

    def start_together(
        self, *services: tuple[str, int | None, dict[str, str]], cap_seconds: float = 120.0
    ) -> list[Process]:
        """Several services started at once (their imports overlap), each waited for."""
        started = [self._spawn(name, port or free_port(), env) for name, port, env in services]
        deadline = time.monotonic() + cap_seconds
        waiting = list(started)
        while waiting:
            process = waiting[0]
            if process.popen.poll() is not None:
                raise AssertionError(f"{process.name} exited with {process.popen.returncode}: see {process.log}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{process.name} did not answer within {cap_seconds:.0f}s: see {process.log}")
            try:
                if httpx.get(f"{process.url}/healthz", timeout=1).status_code == 200:
                    self.mark(f"{process.name} answers on port {process.port}")
                    waiting.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        return started

    def _spawn(self, name: str, port: int, env: dict[str, str]) -> Process:
        variables = self.env | {f"CPTS_{name.upper()}_PORT": str(port)} | env
        log = self.tmp / f"{name}-{port}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "cpts_kit.cli", "serve", name, "--no-migrate"],
                env=variables,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=processes.die_with_parent(),  # a killed pytest leaves no service behind
            )
        process = Process(name, port, popen, log)
        self.processes.append(process)
        self.mark(f"{name} starting on port {port}")
        return process

    def stop_all(self) -> None:
        for process in self.processes:  # all told at once, then each waited for
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in self.processes:
            process.stop()
        self.broker.stop()

    # -- writes through the registry's API -------------------------------------------------

    async def register(self, client: httpx.AsyncClient) -> str:
        self._sirens += 1
        answer = await client.post(
            "/v1/cpts",
            json={
                "name": f"CPTS d'essai {self._sirens}",
                "siren": with_luhn_key(f"{71000000 + self._sirens:08d}"),
                "region": "94",
                "departement": "2A",
                "communes": ["2A004", "2A006"],
                "intention_letter_signed_on": "2021-03-01",
            },
            headers=self.headers,
        )
        assert answer.status_code == 201, answer.text
        body = answer.json()
        self.written[body["id"]] = 1
        self.populations[body["id"]] = body["population"]
        return str(body["id"])

    async def advance(self, client: httpx.AsyncClient, cpts_id: str) -> None:
        to, on = LIFECYCLE[self.written[cpts_id] - 1]
        answer = await client.post(
            f"/v1/cpts/{cpts_id}/transitions",
            json={"to": to, "effective_date": on},
            headers=self.transition_headers[to],
        )
        assert answer.status_code == 200, answer.text
        self.written[cpts_id] += 1

    async def write(self, client: httpx.AsyncClient, count: int, parallel: int = 4) -> None:
        """``count`` CPTS, each registered then taken to aci_signed (three events each),
        ``parallel`` at a time."""

        async def one() -> None:
            cpts_id = await self.register(client)
            for _ in LIFECYCLE:
                await self.advance(client, cpts_id)

        for first in range(0, count, parallel):
            await asyncio.gather(*(one() for _ in range(min(parallel, count - first))))

    @property
    def events_written(self) -> int:
        return sum(self.written.values())

    # -- what funding applied ----------------------------------------------------------------

    async def funding_query(self, sql: str) -> list[Any]:
        return await _query(self.funding_db, sql)

    async def registry_query(self, sql: str) -> list[Any]:
        return await _query(self.registry_db, sql)

    async def applied(self) -> int:
        (row,) = await self.funding_query("SELECT count(*) FROM registry_status_history")
        return int(row[0])

    async def wait_applied(self, what: str, cap_seconds: float = 90.0, at_least: int | None = None) -> float:
        """Seconds until funding applied ``at_least`` (default: every written) status events."""
        goal = self.events_written if at_least is None else at_least
        started = time.monotonic()
        self.mark(f"waiting for funding to apply {goal} events: {what}")
        last = -1
        while (last := await self.applied()) < goal:
            if time.monotonic() - started > cap_seconds:
                raise AssertionError(f"{what}: funding applied {last} of {goal} events after {cap_seconds}s")
            await asyncio.sleep(0.1)
        self.mark(f"funding applied {goal} events")
        return time.monotonic() - started

    async def assert_exactly_once(self) -> None:
        """Every write arrived once, in order per CPTS: the funding projection matches the
        registry row for row, no status applied twice, the inbox holds each event once."""
        history = await self.funding_query("SELECT cpts_id, status FROM registry_status_history ORDER BY seq")
        per_cpts: dict[str, list[str]] = {}
        for cpts_id, status in history:
            per_cpts.setdefault(cpts_id, []).append(status)
        expected = {cpts_id: STATUSES[:reached] for cpts_id, reached in self.written.items()}
        wrong = {k: (per_cpts.get(k), v) for k, v in expected.items() if per_cpts.get(k) != v}
        assert not wrong and per_cpts.keys() == expected.keys(), f"applied vs written, per CPTS: {wrong}"
        rows = await self.funding_query("SELECT count(*), coalesce(sum(population), 0) FROM registry_cpts")
        assert (rows[0][0], rows[0][1]) == (len(self.written), sum(self.populations.values()))
        (outbox,) = await self.registry_query("SELECT count(*) FROM outbox WHERE topic = 'cpts.registry.events'")
        (inbox,) = await self.funding_query("SELECT count(*), count(DISTINCT event_id) FROM inbox")
        assert inbox[0] == inbox[1] == outbox[0]  # every registry event, once

    async def assert_aci_payments_accepted(self, funding: str) -> None:
        """The funding API accepts an ACI payment for every CPTS signed (the outage-time ones
        included), and its totals add up to the cent."""
        async with httpx.AsyncClient(base_url=funding, headers=self.headers, timeout=10) as client:
            funder = await client.post("/v1/funders", json={"name": "Cnam", "category": "aci"})
            assert funder.status_code == 201, funder.text
            for n, cpts_id in enumerate(self.written):
                payment = {
                    "kind": "payment",
                    "cpts_id": cpts_id,
                    "funder_id": funder.json()["id"],
                    "fiscal_year": 2024,
                    "mission": "prevention",
                    "part": "fixed",
                    "amount": f"{1000 + n}.{n % 100:02d}",
                    "date": "2024-03-01",
                    "funder_reference": f"MANDAT-{n}",
                }
                paid = await client.post("/v1/flows", json=payment)
                assert paid.status_code == 201, paid.text
            flows = await client.get("/v1/flows", params={"limit": 500})
            cents = sum(int(f["amount"].replace(".", "")) for f in flows.json()["items"])
            assert flows.json()["total"] == len(self.written)
            assert cents == sum((1000 + n) * 100 + n % 100 for n in range(len(self.written)))


async def _query(url: str, sql: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).all())
    finally:
        await engine.dispose()


async def keep_writing(platform: Platform, url: str, stop: asyncio.Event, pause: float = 0.02) -> int:
    """Writes until ``stop``; returns how many CPTS it registered."""
    count = 0
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        while not stop.is_set():
            await platform.write(client, 2)
            count += 2
            await asyncio.sleep(pause)
    return count


def metric(url: str, name: str, **labels: str) -> float:
    """The sum of a Prometheus metric's samples (those with ``labels``) on a service."""
    total = 0.0
    for family in text_string_to_metric_families(httpx.get(f"{url}/metrics", timeout=5).text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total
