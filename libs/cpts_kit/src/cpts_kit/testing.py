"""Pytest fixtures shared by every service's tests (``pytest_plugins = ["cpts_kit.testing"]``).

Real dependencies only: the embedded Kafka-protocol broker on a free port, and PostgreSQL
(``CPTS_TEST_POSTGRES_URL``, default the local server) with a database created and dropped
per test. When PostgreSQL is unreachable the PostgreSQL tests fail; they never skip.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from cpts_kit.broker import EmbeddedBroker, free_port, stop_client

def pytest_configure(config: pytest.Config) -> None:
    """Tests run the services in embedded mode (the development key signs their tokens)."""
    os.environ.setdefault("CPTS_EMBEDDED", "true")


POSTGRES_ADMIN_URL = os.environ.get("CPTS_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A fresh embedded broker (memory only) for the test, on a free port."""
    instance = EmbeddedBroker(free_port(), log_file=tmp_path / "broker.log")
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
