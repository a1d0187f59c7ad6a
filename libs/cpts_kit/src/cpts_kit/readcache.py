"""Answers of costly reads (aggregates, list totals), kept while the database has not changed.

Every write through the kit's engines in this process counts (:func:`count_writes`): an
answer computed before a write is never served after it, so a client reads its own writes
and the tests see every change at once. Writes by other processes (another replica on the
same PostgreSQL, a ``cpts demo`` command) are not seen: there, an answer is at most
``seconds`` old. Callers asking for the same answer while it is being computed wait for that
one computation instead of each running it (under load, 32 clients of one dashboard would
otherwise compute it 32 times at once).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request, Response
from sqlalchemy import event
from sqlalchemy.engine import Engine

T = TypeVar("T")

# Statements that change nothing: anything else on a writer connection counts as a write.
_READ_ONLY_VERBS = ("SELECT", "PRAGMA", "BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "SHOW", "SET")
_WROTE = "cpts_wrote"


class WriteCounter:
    """How many write transactions ended on a database, as seen from this process."""

    def __init__(self) -> None:
        self.generation = 0

    def bump(self) -> None:
        self.generation += 1


# One counter per database URL: every ``Database`` of the process on the same database (the
# service's, a test's fixture, a demo loader) moves the same counter.
_counters: dict[str, WriteCounter] = {}


def count_writes(url: str, engine: Engine) -> WriteCounter:
    """The database's write counter, moved by this engine's write transactions once they end.

    A connection that ran a write is marked; the counter moves when the connection goes back
    to the pool, after its commit (or rollback): a read that began before the commit was keyed
    on the generation before it, so its answer is not served afterwards."""
    counter = _counters.setdefault(url, WriteCounter())

    @event.listens_for(engine, "after_cursor_execute")
    def _mark(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip()[:9].upper().startswith(_READ_ONLY_VERBS):
            conn.info[_WROTE] = True

    @event.listens_for(engine.pool, "checkin")
    def _count(_dbapi_connection: Any, record: Any) -> None:
        if record is not None and record.info.pop(_WROTE, False):
            counter.bump()

    return counter


@dataclass(frozen=True)
class _Entry:
    value: Any
    generation: int
    expires: float


class ReadCache:
    """At most ``capacity`` answers (the least recently used leave first), each valid while no
    write was counted since its computation began, and for ``seconds`` at most."""

    def __init__(self, writes: WriteCounter, *, seconds: float, capacity: int = 256) -> None:
        self.writes = writes
        self.seconds = seconds
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._computing: dict[tuple[Hashable, int], asyncio.Future[Any]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]], *, seconds: float | None = None) -> T:
        """The answer for ``key``: kept, being computed by another request, or computed now.
        ``key`` must name everything the answer depends on but the data (the caller's scope,
        the parameters); ``seconds`` replaces the cache's maximum age for this answer. A
        failure is not kept: the waiting requests get the same error."""
        generation = self.writes.generation
        entry = self._entries.get(key)
        if entry is not None and entry.generation == generation and entry.expires > time.monotonic():
            self._entries.move_to_end(key)
            value: T = entry.value
            return value
        running = self._computing.get((key, generation))
        if running is not None:
            try:
                shared: T = await asyncio.shield(running)
                return shared
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise
                # The computing request was cancelled (its client left): compute here.
        return await self._compute(key, generation, compute, self.seconds if seconds is None else seconds)

    async def _compute(self, key: Hashable, generation: int, compute: Callable[[], Awaitable[T]], seconds: float) -> T:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._computing[(key, generation)] = future
        started = time.monotonic()
        try:
            value = await compute()
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            if self._computing.get((key, generation)) is future:
                del self._computing[(key, generation)]
        future.set_result(value)
        if seconds > 0 and self.capacity > 0:
            self._entries[key] = _Entry(value, generation, started + seconds)
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return value


async def read_cache(request: Request) -> ReadCache:
    """FastAPI dependency: the app's cache of costly answers."""
    cache: ReadCache = request.app.state.read_cache
    return cache


@dataclass(frozen=True)
class JsonAnswer:
    """A read's answer kept as the bytes sent, with its headers (an ETag): a cached hit skips
    the database, the answer's model and its serialisation."""

    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    def response(self) -> Response:
        return Response(self.body, media_type="application/json", headers=dict(self.headers))
