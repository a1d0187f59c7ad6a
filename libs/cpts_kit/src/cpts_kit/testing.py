"""What every service's tests start from (``pytest_plugins = ["cpts_kit.testing"]`` in the root
conftest makes its fixtures available everywhere).

Real dependencies only: the embedded Kafka-protocol broker on a free port (``broker``), and
PostgreSQL (``CPTS_TEST_POSTGRES_URL``, default the local server) with a database created and
dropped per test (``database_url`` is parametrised over SQLite and PostgreSQL). When PostgreSQL
is unreachable the PostgreSQL tests fail; they never skip. Tests run in embedded mode
(``CPTS_EMBEDDED=true``), so tokens come from the development key.

A new service's tests start like this (``services/<name>/tests/conftest.py``)::

    @pytest.fixture
    async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
        settings = make_settings(MySettings, database_url, tmp_path)
        async with serve_api(spec, settings, create_app) as api:
            yield api

then ``await api.call("POST", "/v1/things", role="ars", claims={"region": "94"}, json=...)``.
Contracts: ``assert_contracts_published(spec, CONTRACTS)``. Access: declare the callers with
:func:`standard_callers`, one :class:`Probe` per action of the service's ``ACCESS`` table, and
``await assert_access(api, ACCESS, probes, caller)``: every action must have a probe; each probe
answers its ``ok`` status to an allowed caller inside its territory, 403 to another role, and
``outside`` (404 by default) to a caller of another territory, and a refused request leaves the
database exactly as it was (:func:`database_state`).
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from fastapi import FastAPI
from sqlalchemy import MetaData, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from cpts_kit.access import AccessTable
from cpts_kit.auth import NATIONAL_ROLES, Role, issue_dev_token
from cpts_kit.broker import EmbeddedBroker, free_port, stop_client
from cpts_kit.db import Database
from cpts_kit.service import ServiceSpec, upgrade
from cpts_kit.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)
UNREACHABLE = "127.0.0.1:1"  # a broker address nothing listens on: the relay just retries
PROBLEM = "application/problem+json"


def pytest_configure(config: pytest.Config) -> None:
    """Tests run the services in embedded mode (the development key signs their tokens)."""
    os.environ.setdefault("CPTS_EMBEDDED", "true")


POSTGRES_ADMIN_URL = os.environ.get("CPTS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A fresh embedded broker (memory only) for the test, on a free port."""
    instance = EmbeddedBroker(free_port(), log_file=tmp_path / "broker.log", die_with_parent=True)
    instance.start()
    yield instance
    instance.stop()


async def create_postgres_database() -> str:
    name = f"cpts_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        raise RuntimeError(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {exc}") from exc
    finally:
        await admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


async def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on each backend, for the test alone."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
        return
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, cap_seconds: float = 120.0, interval: float = 0.1
) -> float:
    """Poll ``check`` until it holds and return how long that took. The cap is only there so
    that a bug fails instead of hanging (a consumer joining a group on the embedded broker
    takes 5 to 20 seconds)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await check():
        if loop.time() - started > cap_seconds:
            raise AssertionError(f"never happened within {cap_seconds:g}s: {what}")
        await asyncio.sleep(interval)
    return loop.time() - started


async def read_topic(bootstrap: str, topic: str, *, expect: int, wait_seconds: float = 20.0) -> list[Any]:
    """Every message on ``topic`` from the beginning, waiting until at least ``expect`` arrived
    (then a short grace period, so that extra, duplicated messages would be seen too)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    messages: list[Any] = []
    while loop.time() < deadline:
        # A consumer learns the topics that exist when it starts: start one until ours is there.
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            if not partitions:
                continue
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            grace_until: float | None = None
            while loop.time() < deadline and (grace_until is None or loop.time() < grace_until):
                batches = await consumer.getmany(timeout_ms=300)
                for records in batches.values():
                    messages += records
                if len(messages) >= expect and grace_until is None:
                    grace_until = loop.time() + 1.5
            return messages
        finally:
            await stop_client(consumer)
            if not messages:
                await asyncio.sleep(0.2)
    return messages


def cloudevents(messages: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(m.value) for m in messages]


# -- a service under test -----------------------------------------------------------------


def make_settings(
    settings_cls: type[S], database_url: str, state_dir: Path, bootstrap: str = UNREACHABLE, **overrides: Any
) -> S:
    """A service's settings for a test: its database, a state folder, embedded mode, a broker
    (unreachable unless given) and short relay delays; ``overrides`` set any other field."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "state_dir": state_dir,
        "embedded": True,
        "kafka_bootstrap": bootstrap,
        "relay_interval_seconds": 0.1,
        "broker_check_interval_seconds": 1.0,
        "kafka_request_timeout_ms": 3000,
        "relay_max_backoff_seconds": 1.0,
        "log_json": False,
        **overrides,
    }
    return settings_cls(**values)


@dataclass
class Api:
    """A service's HTTP API in the test's process; ``call`` signs a token for the role."""

    client: httpx.AsyncClient
    settings: ServiceSettings
    db: Database | None = None

    def headers(self, role: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": "Bearer " + issue_dev_token(self.settings, role=role, **claims)}

    async def call(
        self, method: str, url: str, role: str = "cnam", claims: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {**self.headers(role, **(claims or {})), **kwargs.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kwargs)


A = TypeVar("A", bound=Api)


@asynccontextmanager
async def serve_api(
    spec: ServiceSpec,
    settings: ServiceSettings,
    create_app: Callable[..., FastAPI],
    *,
    prepare: Callable[[Database], Awaitable[None]] | None = None,
    api_class: type[A] = Api,  # type: ignore[assignment]
) -> AsyncIterator[A]:
    """The service on its (migrated) database, its lifespan running without the background
    relay and consumers; ``prepare`` runs on the migrated database before the app starts.
    ``api_class`` is the service's own subclass of :class:`Api` (with its helpers)."""
    await upgrade(spec, settings.database_url)
    db = Database(settings.database_url)
    try:
        if prepare is not None:
            await prepare(db)
        app = create_app(settings, background=False)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=f"http://{spec.name}") as client:
                yield api_class(client, settings, db)
    finally:
        await db.dispose()


# The schema of a test's database does not change once it is migrated: reflect it once.
_reflected: weakref.WeakKeyDictionary[Database, MetaData] = weakref.WeakKeyDictionary()


async def database_state(db: Database, *, skip: Iterable[str] = ("alembic_version",)) -> dict[str, list[str]]:
    """Every row of every table (as sorted text), to assert that a refused request changed
    nothing: compare the state before and after."""
    async with db.engine.connect() as conn:
        metadata = _reflected.get(db)
        if metadata is None:
            metadata = MetaData()
            await conn.run_sync(metadata.reflect)
            _reflected[db] = metadata
        state: dict[str, list[str]] = {}
        for name, table in sorted(metadata.tables.items()):
            if name in skip:
                continue
            rows = (await conn.execute(select(table))).all()
            state[name] = sorted(repr(tuple(row)) for row in rows)
    return state


def assert_contracts_published(spec: ServiceSpec, contracts: Path) -> dict[str, Any]:
    """The service's OpenAPI document and event schemas are the ones in ``contracts/``
    (run ``cpts contracts`` and commit them otherwise). Returns the published OpenAPI."""
    from cpts_kit.contracts import check_service, openapi_document

    published: dict[str, Any] = json.loads((contracts / "openapi" / f"{spec.name}.json").read_text())
    assert openapi_document(spec) == published, "run `cpts contracts` and commit contracts/"
    assert check_service(spec, contracts) == [], "run `cpts contracts` and commit contracts/"
    return published


# -- the access matrix --------------------------------------------------------------------

SELF = "<the probe's CPTS>"  # in a caller's claims: the CPTS the probe acts on


@dataclass(frozen=True)
class Caller:
    """A role with its claims, and whether its territory holds the probed CPTS."""

    label: str
    role: Role
    claims: Mapping[str, Any] = field(default_factory=dict)
    inside: bool = True

    def claims_for(self, cpts_id: str | None) -> dict[str, Any]:
        return {k: (cpts_id or "no-cpts" if v == SELF else v) for k, v in self.claims.items()}


def caller_id(role: str, claims: Mapping[str, Any]) -> str:
    """A readable pytest id for a caller: its role and its claims' values."""
    return role + "-" + "-".join(str(v) for v in claims.values())


def standard_callers(*, region: str, departement: str, other_region: str, other_departement: str) -> list[Caller]:
    """Every role: the national ones, and the ARS, CPAM and CPTS inside the probed CPTS's
    territory (``region``/``departement``, the CPTS itself) and outside it."""
    callers = [Caller(role.value, role) for role in Role if role in NATIONAL_ROLES]
    callers += [
        Caller("ars-inside", Role.ARS, {"region": region}),
        Caller("ars-outside", Role.ARS, {"region": other_region}, inside=False),
        Caller("cpam-inside", Role.CPAM, {"departement": [departement, other_departement]}),
        Caller("cpam-outside", Role.CPAM, {"departement": other_departement}, inside=False),
        Caller("cpts-inside", Role.CPTS, {"cpts": SELF}),
        Caller("cpts-outside", Role.CPTS, {"cpts": "00000000-0000-4000-8000-000000000000"}, inside=False),
    ]
    return callers


@dataclass(frozen=True)
class Probe:
    """One request performing an action: ``ok`` is its status for an allowed caller inside
    the territory, ``outside`` for a caller of another territory (any role). ``outside_for``
    lists roles for which this resource is never inside (e.g. a CPTS and a département's
    figures)."""

    method: str
    url: str
    cpts_id: str | None = None
    json: Any = None
    params: Mapping[str, str] | None = None
    headers: Mapping[str, str] | None = None
    ok: int = 200
    outside: int = 404
    outside_for: frozenset[Role] = frozenset()
    files: Any = None
    data: Any = None

    def expected(self, access: AccessTable, action: str, caller: Caller) -> int:
        if not caller.inside or caller.role in self.outside_for:
            return self.outside
        return self.ok if access.allows(caller.role, action) else 403


async def assert_access(
    api: Api,
    access: AccessTable,
    probes: Mapping[str, Probe | Sequence[Probe]],
    caller: Caller,
    *,
    state: Callable[[], Awaitable[Any]] | None = None,
) -> dict[str, list[int]]:
    """Run every probe as ``caller``: each answers its expected status (``Probe.expected``)
    and a refused one (4xx) leaves ``state`` (default: every table of ``api.db``) unchanged.
    Every action of ``access`` needs a probe, so a new permission cannot go untested.
    Returns the statuses by action."""
    missing = [p.action for p in access if p.action not in probes]
    assert not missing, f"{access.service}: no probe for {missing}"
    unknown = [action for action in probes if action not in access]
    assert not unknown, f"{access.service}: probes for undeclared actions {unknown}"
    snapshot = state
    if snapshot is None:
        assert api.db is not None, "give assert_access a state, or an Api with its database"
        database = api.db

        async def snapshot() -> Any:
            return await database_state(database)

    seen: dict[str, list[int]] = {}
    failures: list[str] = []
    for action, some in probes.items():
        for probe in [some] if isinstance(some, Probe) else some:
            expected = probe.expected(access, action, caller)
            before = await snapshot()
            kwargs: dict[str, Any] = {"headers": dict(probe.headers or {})}
            for name in ("json", "params", "files", "data"):
                if getattr(probe, name) is not None:
                    kwargs[name] = getattr(probe, name)
            answer = await api.call(
                probe.method, probe.url, caller.role.value, caller.claims_for(probe.cpts_id), **kwargs
            )
            seen.setdefault(action, []).append(answer.status_code)
            where = f"{caller.label} {action} {probe.method} {probe.url}"
            if answer.status_code != expected:
                failures.append(f"{where}: {answer.status_code} (expected {expected}) {answer.text[:200]}")
                continue
            if answer.status_code >= 400:
                if answer.headers.get("content-type") != PROBLEM:
                    failures.append(f"{where}: a {answer.status_code} that is not problem+json")
                if await snapshot() != before:
                    failures.append(f"{where}: refused ({answer.status_code}) but the state changed")
    assert not failures, "\n".join(failures)
    return seen
