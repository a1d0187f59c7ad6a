"""Cached answers of costly reads: kept until a write of the process, or their time is up;
computed once for the requests that ask together; failures never kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from cpts_kit.db import Database
from cpts_kit.readcache import ReadCache, WriteCounter


class Computations:
    """A computation that counts its runs and answers with that count."""

    def __init__(self, delay: float = 0.0) -> None:
        self.runs = 0
        self.delay = delay

    async def __call__(self) -> int:
        self.runs += 1
        await asyncio.sleep(self.delay)
        return self.runs


async def test_an_answer_is_kept_until_a_write_or_its_time_is_up() -> None:
    writes = WriteCounter()
    cache = ReadCache(writes, seconds=60)
    compute = Computations()
    assert await cache.get("k", compute) == 1
    assert await cache.get("k", compute) == 1  # kept
    assert await cache.get("other", compute) == 2  # keys do not mix
    writes.bump()
    assert await cache.get("k", compute) == 3  # a write: computed again
    expired = ReadCache(writes, seconds=0.05)
    assert await expired.get("k", compute) == 4
    assert await expired.get("long", compute, seconds=60) == 5  # this answer's own maximum age
    await asyncio.sleep(0.1)
    assert await expired.get("k", compute) == 6  # past its time
    assert await expired.get("long", compute, seconds=60) == 5


async def test_requests_asking_together_share_one_computation() -> None:
    cache = ReadCache(WriteCounter(), seconds=60)
    compute = Computations(delay=0.05)
    answers = await asyncio.gather(*(cache.get("k", compute) for _ in range(10)))
    assert answers == [1] * 10
    assert compute.runs == 1


async def test_a_failure_is_shared_and_not_kept() -> None:
    cache = ReadCache(WriteCounter(), seconds=60)
    runs = 0

    async def failing() -> int:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.02)
        raise LookupError("not found")

    results = await asyncio.gather(*(cache.get("k", failing) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, LookupError) for r in results)
    assert runs == 1
    with pytest.raises(LookupError):
        await cache.get("k", failing)
    assert runs == 2  # not kept


async def test_a_cancelled_computation_leaves_the_waiting_requests_to_compute() -> None:
    cache = ReadCache(WriteCounter(), seconds=60)
    compute = Computations(delay=0.1)
    first = asyncio.create_task(cache.get("k", compute))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(cache.get("k", compute))
    await asyncio.sleep(0.01)
    first.cancel()
    assert await second == 2  # computed again, by the request still waiting
    assert first.cancelled()


async def test_the_cache_is_bounded() -> None:
    cache = ReadCache(WriteCounter(), seconds=60, capacity=2)
    for key in ("a", "b", "c"):
        await cache.get(key, Computations())
    assert len(cache) == 2


async def test_write_transactions_move_the_counter_reads_do_not(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'writes.db'}"
    db, other = Database(url), Database(url)
    try:
        async with db.sessionmaker() as session:
            await session.execute(text("CREATE TABLE t (n INTEGER)"))
            await session.commit()
        before = db.writes.generation
        async with db.reader() as reader:
            await reader.execute(text("SELECT count(*) FROM t"))
        async with db.sessionmaker() as session:
            await session.execute(text("SELECT count(*) FROM t"))
            await session.commit()
        assert db.writes.generation == before  # reads, even in a writer session, change nothing
        async with other.sessionmaker() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
            assert db.writes.generation == before  # not before the transaction ends
            await session.commit()
        # Another Database of the process on the same file moves the same counter.
        assert db.writes is other.writes
        assert db.writes.generation == before + 1
    finally:
        await db.dispose()
        await other.dispose()
