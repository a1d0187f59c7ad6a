"""The projection: each event the audit reads sets one fact (see ``readers``) and marks its
CPTS for re-evaluation. Runs in the consumer's transaction (the inbox runner commits).

The inbox runner applies a fetched batch (up to ``consumer_batch_size`` events) in one
transaction, calling :func:`apply_event` once per event. Written event by event, the facts
cost three statements each (a read, an upsert of the mark, a flush) and the ORM's unit of work
around them: the audit applied a few hundred events a second and the start command's demo
waited minutes for it. So the handler only works out, in order, which fact each event sets,
and the transaction's writes go at once when it commits (or when :func:`write_pending` is
called): the known facts of the batch read in one statement per kind, every fact the batch
changed written in one upsert, and each CPTS it touched marked once. The result is the one
event by event would give: the same rows, each set by the last event that set it, and the same
CPTS marked (a mark's ``version`` grows once per transaction instead of once per event: the
evaluator only compares it with the version it read).

In a savepoint (the inbox's careful pass, once an event of the batch failed) each event is
written at once, so that its failure is its own and rolled back alone."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event as orm_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from cpts_audit.events.readers import FactKey, fact_key, replaces
from cpts_audit.storage.models import DirtyCpts, Fact
from cpts_kit.db import insert_for, utcnow
from cpts_kit.events import CloudEvent

log = logging.getLogger(__name__)

_PENDING = "cpts_audit.projection.pending"  # key of the transaction's pending writes in session.info
_READ_CHUNK = 1000  # keys per read of the known facts (a replay writes every event at once)
_COLUMNS = ("cpts_id", "region", "departement", "year", "event_id", "event_type", "data", "updated_at")


@dataclass
class _Pending:
    """What the transaction's events set, not written yet."""

    events: list[tuple[CloudEvent, FactKey, str]] = field(default_factory=list)  # (event, fact, CPTS id)


async def mark_dirty(session: AsyncSession, cpts_id: str) -> None:
    """One statement (an upsert), not read-then-write: two replicas' consumers may mark the same
    CPTS at once (its events come from several topics), and an evaluator may be deleting the
    mark meanwhile; the upsert waits for it and re-creates the mark instead of losing it."""
    await session.run_sync(_mark_dirty, [cpts_id])


def _mark_dirty(session: Session, cpts_ids: list[str]) -> None:
    """Marks several CPTS in one statement, in the order of their ids (two transactions marking
    the same CPTS lock them in the same order)."""
    if not cpts_ids:
        return
    statement = insert_for(session)(DirtyCpts).values(version=1)
    session.connection().execute(
        statement.on_conflict_do_update(index_elements=[DirtyCpts.cpts_id], set_={"version": DirtyCpts.version + 1}),
        [{"cpts_id": cpts_id} for cpts_id in sorted(set(cpts_ids))],
    )


async def apply_event(session: AsyncSession, event: CloudEvent) -> None:
    where = fact_key(event.type, event.data)
    cpts_id = str(event.data.get("cpts_id") or event.subject)
    if where is None or not cpts_id or not where.key:
        log.debug("event %s not projected", event.type)
        return
    replaces(where.kind, {}, event.data)  # a malformed payload fails here, as its own event's failure
    pending = session.info.get(_PENDING)
    if session.in_nested_transaction():
        # A savepoint per event (the inbox's careful pass): written now, rolled back alone
        # (after what the enclosing transaction's events set before it, if any: in order).
        earlier = pending.events if pending is not None else []
        if pending is not None:
            pending.events = []
        await session.run_sync(_write, [*earlier, (event, where, cpts_id)])
        return
    if pending is None:
        pending = session.info[_PENDING] = _Pending()
        orm_event.listen(session.sync_session, "before_commit", _write_pending)
        orm_event.listen(session.sync_session, "after_soft_rollback", _drop_pending)
    if not pending.events:
        await session.connection()  # the transaction has begun: its rollback drops what is pending
    pending.events.append((event, where, cpts_id))


async def write_pending(session: AsyncSession) -> None:
    """Writes what the transaction's events set (done anyway before it commits): for a caller
    that reads the facts or the marks in the same transaction."""
    await session.run_sync(_write_pending)


def _write_pending(session: Session) -> None:
    pending: _Pending | None = session.info.get(_PENDING)
    if pending is not None and pending.events:
        events, pending.events = pending.events, []
        _write(session, events)


def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    """The transaction was rolled back: what its events set goes with it (not a savepoint's)."""
    pending: _Pending | None = session.info.get(_PENDING)
    if pending is not None and not previous_transaction.nested:
        pending.events.clear()


def _write(session: Session, events: list[tuple[CloudEvent, FactKey, str]]) -> None:
    """Sets the facts of ``events``, in their order, and marks their CPTS: a read of the known
    facts per kind, one upsert of the changed ones, one upsert of the marks."""
    connection = session.connection()
    keys: dict[str, set[str]] = {}
    for _, where, _ in events:
        keys.setdefault(where.kind, set()).add(where.key)
    known: dict[tuple[str, str], dict[str, Any]] = {}
    for kind, names in keys.items():
        ordered = sorted(names)
        for start in range(0, len(ordered), _READ_CHUNK):
            rows = connection.execute(
                select(Fact.key, Fact.region, Fact.departement, Fact.data).where(
                    Fact.kind == kind, Fact.key.in_(ordered[start : start + _READ_CHUNK])
                )
            )
            for key, region, departement, data in rows:
                known[(kind, key)] = {"region": region, "departement": departement, "data": data}
    changed: dict[tuple[str, str], dict[str, Any]] = {}
    dirty: list[str] = []
    now: datetime = utcnow()
    for event, where, cpts_id in events:
        ident = (where.kind, where.key)
        row = known.get(ident)
        if row is not None and not replaces(where.kind, row["data"], event.data):
            continue
        data = row["data"] if row is not None else {}
        row = {
            "kind": where.kind,
            "key": where.key,
            "cpts_id": cpts_id,
            "region": str(event.data.get("region") or (row["region"] if row else "")),
            "departement": str(event.data.get("departement") or (row["departement"] if row else "")),
            "year": where.year,
            "event_id": event.id,
            "event_type": event.type,
            "data": {**data, **event.data} if where.merge else dict(event.data),
            "updated_at": now,
        }
        known[ident] = changed[ident] = row
        dirty.append(cpts_id)
    if changed:
        statement = insert_for(session)(Fact)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=[Fact.kind, Fact.key],
                set_={name: getattr(statement.excluded, name) for name in _COLUMNS},
            ),
            [changed[ident] for ident in sorted(changed)],
        )
    _mark_dirty(session, dirty)
