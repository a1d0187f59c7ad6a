"""Sessions on SQLite: writers take the write lock when they begin, readers never wait for it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from cpts_kit.db import Database


async def test_readers_run_beside_a_writer_that_holds_the_lock(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'locks.db'}")
    try:
        async with db.sessionmaker() as setup:
            await setup.execute(text("CREATE TABLE t (n INTEGER)"))
            await setup.execute(text("INSERT INTO t VALUES (1)"))
            await setup.commit()
        async with db.sessionmaker() as writer:
            await writer.execute(text("UPDATE t SET n = 2"))  # BEGIN IMMEDIATE: holds the lock
            async with db.reader() as reader:
                # Served from the last committed snapshot at once, while the writer holds on.
                seen = await asyncio.wait_for(reader.scalar(text("SELECT n FROM t")), timeout=5)
                assert seen == 1
            second = db.sessionmaker()
            # Another writer waits for the lock (busy timeout) instead of reading beside it.
            waiting = asyncio.create_task(second.execute(text("SELECT n FROM t")))
            await asyncio.sleep(0.5)
            assert not waiting.done()
            await writer.commit()
            await asyncio.wait_for(waiting, timeout=10)
            await second.close()
        async with db.reader() as reader:
            assert await reader.scalar(text("SELECT n FROM t")) == 2
    finally:
        await db.dispose()
