"""The consumer's inbox, in-process: what exactly-once application costs per event against the
same handler run bare (a benchmark, not a test).

Both passes apply the same events in batches of ``--batch``, one transaction per batch, with
the same handler (a read of the subject's last row, then an insert: what a projection does):

- the reference calls the handler in a plain session and commits;
- the inbox pass goes through ``EventConsumer._apply_events``: the batch's ids looked up in the
  inbox, each event applied, its inbox row written, one commit.

It prints events per second and CPU time per event of each, and their ratio. The database is a
temporary SQLite file, or an empty PostgreSQL database it creates and drops (``--postgres``).

    .venv/bin/python bench/inbox.py
    .venv/bin/python bench/inbox.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ClassVar

from pydantic_settings import SettingsConfigDict
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from cpts_kit.db import Database
from cpts_kit.events import CloudEvent, EventPayload
from cpts_kit.inbox import EventConsumer, InboxEvent
from cpts_kit.settings import ServiceSettings

APPLIED = Table(
    "bench_applied",
    MetaData(),
    Column("event_id", String(100), nullable=False),
    Column("subject", String(100), nullable=False, index=True),
    Column("n", Integer, nullable=False),
)


class BenchSettings(ServiceSettings):
    service_name: ClassVar[str] = "bench"
    model_config = SettingsConfigDict(env_prefix="CPTS_BENCH_", extra="ignore")


class Happened(EventPayload):
    event_type: ClassVar[str] = "fr.cpts.bench.happened.v1"

    n: int


async def handle(session: AsyncSession, event: CloudEvent) -> None:
    await session.execute(select(APPLIED.c.n).where(APPLIED.c.subject == event.subject).limit(1))
    await session.execute(APPLIED.insert().values(event_id=event.id, subject=event.subject, n=event.data["n"]))


async def timed(label: str, count: int, run: Callable[[], Awaitable[None]]) -> tuple[float, float]:
    began, used = time.perf_counter(), time.process_time()
    await run()
    wall, cpu = time.perf_counter() - began, time.process_time() - used
    print(f"{label:28}: {count / wall:9,.0f} events/s  CPU {cpu / count * 1e6:6.0f} us/event")
    return wall, cpu


async def measure(url: str, events: int, batch: int, state_dir: Path) -> None:
    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: (InboxEvent.__table__.create(c), APPLIED.create(c)))
    stream = [CloudEvent.of("/cpts/bench", f"s{i % 300}", Happened(n=i)) for i in range(events)]
    batches = [stream[start : start + batch] for start in range(0, events, batch)]
    consumer = EventConsumer(
        db, BenchSettings(state_dir=state_dir, embedded=True), group_id="bench", topics=["bench"], handler=handle
    )

    async def bare() -> None:
        for chunk in batches:
            async with db.sessionmaker() as session:
                for event in chunk:
                    await handle(session, event)
                await session.commit()

    async def through_inbox() -> None:
        for chunk in batches:
            await consumer._apply_events([(None, event) for event in chunk], failed=None)  # type: ignore[misc]

    try:
        print(f"{events:,} events in batches of {batch} on {db.engine.dialect.name}")
        bare_wall, bare_cpu = await timed("bare handler (reference)", events, bare)
        async with db.engine.begin() as conn:  # a new table: no dead rows left by the first pass
            await conn.run_sync(lambda c: (APPLIED.drop(c), APPLIED.create(c)))
        inbox_wall, inbox_cpu = await timed("through the inbox", events, through_inbox)
        async with db.sessionmaker() as session:
            recorded = await session.scalar(select(text("count(*)")).select_from(InboxEvent.__table__))
        assert recorded == events, f"{recorded} inbox rows for {events} events"
        print(f"inbox / bare: speed {bare_wall / inbox_wall:.2f}x (CPU {bare_cpu / inbox_cpu:.2f}x)")
    finally:
        await db.engine.dispose()


async def on_postgres(admin_url: str, events: int, batch: int, state_dir: Path) -> None:
    name = f"cpts_bench_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            await measure(admin_url.rsplit("/", 1)[0] + f"/{name}", events, batch, state_dir)
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="create and drop a database on this server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="inbox-bench-") as folder:
        state_dir = Path(folder)
        run: Any = (
            on_postgres(args.postgres, args.events, args.batch, state_dir)
            if args.postgres
            else measure(f"sqlite+aiosqlite:///{state_dir / 'inbox.db'}", args.events, args.batch, state_dir)
        )
        asyncio.run(run)


if __name__ == "__main__":
    main()
