"""The projection: each event the audit reads sets one fact (see ``readers``) and marks its
CPTS for re-evaluation. Runs in the consumer's transaction (the inbox runner commits)."""

from __future__ import annotations

import logging

from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_audit.events.readers import fact_key, replaces
from cpts_audit.storage.models import DirtyCpts, Fact
from cpts_kit.db import utcnow
from cpts_kit.events import CloudEvent

log = logging.getLogger(__name__)


async def mark_dirty(session: AsyncSession, cpts_id: str) -> None:
    """One statement (an upsert), not read-then-write: two replicas' consumers may mark the same
    CPTS at once (its events come from several topics), and an evaluator may be deleting the
    mark meanwhile; the upsert waits for it and re-creates the mark instead of losing it."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgres_insert
    statement = insert(DirtyCpts).values(cpts_id=cpts_id, version=1)
    await session.execute(
        statement.on_conflict_do_update(index_elements=[DirtyCpts.cpts_id], set_={"version": DirtyCpts.version + 1})
    )


async def apply_event(session: AsyncSession, event: CloudEvent) -> None:
    where = fact_key(event.type, event.data)
    cpts_id = str(event.data.get("cpts_id") or event.subject)
    if where is None or not cpts_id or not where.key:
        log.debug("event %s not projected", event.type)
        return
    row = await session.get(Fact, (where.kind, where.key))
    region = str(event.data.get("region") or (row.region if row else ""))
    departement = str(event.data.get("departement") or (row.departement if row else ""))
    if row is None:
        row = Fact(kind=where.kind, key=where.key, cpts_id=cpts_id, data={})
        session.add(row)
    elif not replaces(where.kind, row.data, event.data):
        return
    row.data = {**row.data, **event.data} if where.merge else dict(event.data)
    row.cpts_id, row.region, row.departement, row.year = cpts_id, region, departement, where.year
    row.event_id, row.event_type, row.updated_at = event.id, event.type, utcnow()
    await mark_dirty(session, cpts_id)
    await session.flush()
