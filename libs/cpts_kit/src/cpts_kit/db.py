"""Database access: one declarative base, async engine and sessions, on PostgreSQL or SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Generator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from fastapi import Request
from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, event, text
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from cpts_kit.readcache import count_writes

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL wants a BIGINT for sequences.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on both backends (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class json_rows(FunctionElement[Any]):
    """Aggregates the rows of a (correlated) subquery into one JSON array: of values for one
    column, of arrays for several; ``None`` when there is no row on PostgreSQL, ``[]`` on
    SQLite. Lets a read fetch a parent and its children in one statement (one round trip)
    instead of one query per child table. Order is not guaranteed: sort in Python."""

    type = JSON()
    inherit_cache = True
    name = "json_rows"


@compiles(json_rows, "sqlite")
def _json_rows_sqlite(element: json_rows, compiler: Any, **kw: Any) -> str:
    args = compiler.process(element.clauses, **kw)
    inner = args if len(element.clauses) == 1 else f"json_array({args})"
    return f"json_group_array({inner})"


@compiles(json_rows, "postgresql")
def _json_rows_postgresql(element: json_rows, compiler: Any, **kw: Any) -> str:
    args = compiler.process(element.clauses, **kw)
    inner = args if len(element.clauses) == 1 else f"json_build_array({args})"
    return f"json_agg({inner})"


def utcnow() -> datetime:
    return datetime.now(UTC)


# Execution option marking the connections of read-only sessions.
READ_ONLY = "cpts_read_only"
# Methods whose requests only read (RFC 9110 safe methods).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def insert_for(session: Session | AsyncSession) -> Any:
    """The dialect's ``insert`` of the session's database, which has ``on_conflict_do_*``
    (upserts, inserts that skip existing keys): PostgreSQL's, or SQLite's."""
    return postgres_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


class Database:
    """Owns the engine and the session factory of one service."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        # Pooled connections kept open: under load, a pool smaller than the concurrency opens
        # and closes a connection per request (a TLS/auth handshake on PostgreSQL, a thread and
        # the PRAGMAs on SQLite). 20 per service stays within PostgreSQL's default 100.
        kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True, "pool_size": 16, "max_overflow": 4}
        read_options: dict[str, Any] = {READ_ONLY: True}
        if is_sqlite(url):
            _ensure_sqlite_folder(url)
            # A file has no connection to lose: no ping (each statement through aiosqlite is a
            # round trip to its thread).
            kwargs.update(connect_args={"timeout": 30}, pool_pre_ping=False, pool_size=20, max_overflow=10)
        else:
            # Readers send no BEGIN/ROLLBACK (two round trips); under READ COMMITTED each
            # statement sees its own snapshot anyway.
            read_options["isolation_level"] = "AUTOCOMMIT"
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        # Moved by every write transaction: what keeps cached answers fresh (``cpts_kit.readcache``).
        self.writes = count_writes(url, self.engine.sync_engine)
        self.read_engine = self.engine
        if is_sqlite(url):
            _configure_sqlite(self.engine)
            # Readers on SQLite run their statements inline (see ``sqlite_inline_connect``).
            self.read_engine = create_async_engine(url, **kwargs, async_creator=partial(sqlite_inline_connect, url))
            _configure_sqlite(self.read_engine, busy_timeout_ms=2000)
        # Writers: on SQLite their transactions open with BEGIN IMMEDIATE (see below).
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # Readers (GET requests, metrics): on SQLite no BEGIN at all, so that reads run beside
        # each other and beside the one writer (WAL) instead of queueing for the write lock.
        self.reader_engine = self.read_engine.execution_options(**read_options)
        self.reader = async_sessionmaker(self.reader_engine, expire_on_commit=False)

    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def _ensure_sqlite_folder(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


class _RunNow:
    """Stands for the queue of aiosqlite's worker thread: runs each call as it is queued, on
    the caller's thread, and settles its future at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


class _InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection without its thread: every call runs in the event loop."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._tx = _RunNow()  # type: ignore[assignment]

    def __await__(self) -> Generator[Any, None, aiosqlite.Connection]:
        return self._connect().__await__()  # no worker thread to start


async def sqlite_inline_connect(url: str) -> aiosqlite.Connection:
    """A connection for SQLite readers that runs its statements inline, in the event loop.

    aiosqlite hands every call (cursor, execute, fetch, close) to one thread per connection
    and back: several thread switches per statement, each a wait for the GIL and, on a busy
    machine, for the OS scheduler; the profile of a loaded registry showed most of a read's
    time there. A reader in WAL mode takes no lock and waits for no writer, and the reads of
    the API are short indexed statements: running them inline costs less than the switches.
    Writers keep aiosqlite's thread (they may wait for the write lock)."""
    path = url.split("///", 1)[-1]
    connection = _InlineConnection(partial(sqlite3.connect, path, check_same_thread=False))
    return await connection


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int = 30000) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE for writers so that concurrent writers (API and
    outbox relay) wait for the lock instead of failing on a read-to-write upgrade.

    Readers (``Database.reader``) open no transaction: each statement reads its own snapshot
    of the last commit (WAL), without the lock and without the BEGIN round trip to aiosqlite's
    thread. That is what PostgreSQL's default READ COMMITTED gives a reader too: a read that
    needs several rows to agree reads them in one statement."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def app_database(request: Request) -> Database:
    """The app's database (opened by the lifespan): for reads that open a connection only
    when they need one, such as on a read-cache miss."""
    database: Database = request.app.state.db
    return database


async def session_dependency(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: one session per request, on the app's database; a read-only one
    for safe methods (GET, HEAD), which must not write."""
    database = app_database(request)
    factory = database.reader if request.method in SAFE_METHODS else database.sessionmaker
    async with factory() as session:
        yield session


async def reader_dependency(request: Request) -> AsyncIterator[AsyncConnection]:
    """FastAPI dependency of the hottest reads (a detail, a list page): a reader connection
    without an ORM session. Reads that select columns need no session, and on SQLite opening
    one cost more than the statement it ran."""
    async with app_database(request).reader_engine.connect() as connection:
        yield connection
