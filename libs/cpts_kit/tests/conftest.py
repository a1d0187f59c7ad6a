"""Fixtures of the kit's tests: the real embedded broker and databases of ``cpts_kit.testing``."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from kit_helpers import ConsumerStarter, KitTestSettings, Projection, RecordingConsumer, RunningConsumer

from cpts_kit.db import Database
from cpts_kit.outbox import OutboxEvent


@pytest.fixture(autouse=True)
def _no_cpts_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test alone, whatever the developer's shell exports."""
    for name in list(os.environ):
        if name.upper().startswith("CPTS_") and name.upper() != "CPTS_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)


@pytest.fixture
async def projection(tmp_path: Path) -> AsyncIterator[Projection]:
    """A consumer-side SQLite database with the inbox and the projection table."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}")
    projection = Projection(db)
    await projection.create_tables()
    try:
        yield projection
    finally:
        await db.dispose()


@pytest.fixture
async def start_consumer() -> AsyncIterator[ConsumerStarter]:
    """Starts real consumers as tasks; any still running at the end are stopped."""
    running: list[RunningConsumer] = []

    def start(projection: Projection, settings: KitTestSettings, group_id: str) -> RunningConsumer:
        consumer = RecordingConsumer(
            projection.db, settings, group_id=group_id, topics=[settings.topic], handler=projection.handle
        )
        run = RunningConsumer(consumer)
        running.append(run)
        return run

    yield start
    for run in running:
        if not run.task.done():
            await run.close()


async def _with_outbox(url: str) -> AsyncIterator[Database]:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: OutboxEvent.__table__.create(c))
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def sqlite_outbox_db(tmp_path: Path) -> AsyncIterator[Database]:
    """An outbox table in a SQLite file of the test's own."""
    async for db in _with_outbox(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}"):
        yield db


@pytest.fixture
async def outbox_db(database_url: str) -> AsyncIterator[Database]:
    """An outbox table on each backend."""
    async for db in _with_outbox(database_url):
        yield db
