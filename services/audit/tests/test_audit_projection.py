"""The projection applied a batch at a time (one transaction, as the inbox runner applies a
fetched batch): the same facts as event by event, each CPTS marked once per transaction, nothing
written by a transaction rolled back, and an event in a savepoint (the inbox's careful pass)
written and rolled back alone; and the evaluator waiting for the projection to be quiet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from audit_helpers import CORSE_ID, PARIS_ID, declaration, event, flow, make_settings, members, registered
from sqlalchemy import delete, select

from cpts_audit import commands
from cpts_audit.events.projection import apply_event, write_pending
from cpts_audit.service import spec
from cpts_audit.storage.models import DirtyCpts, Fact
from cpts_kit.db import Database
from cpts_kit.events import CloudEvent
from cpts_kit.service import upgrade


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await upgrade(spec, database_url)
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


def renamed(cpts_id: str, name: str) -> CloudEvent:
    """A ``cpts.updated``: merged into the known CPTS fact."""
    data = {**registered(cpts_id).data, "name": name}
    data.pop("communes", None)
    return event("fr.cpts.registry.cpts.updated.v1", data)


def history() -> list[CloudEvent]:
    """Events touching the same CPTS and the same facts several times, in an order that
    matters: a merge, a flow replaced, an older declaration after a newer one, an event the
    audit does not project."""
    again = "33333333-3333-4333-8333-333333333333"
    return [
        registered(CORSE_ID),
        flow(CORSE_ID, "aci", "1000.00", flow_id=again),
        renamed(CORSE_ID, "CPTS du Grand Ajaccio"),
        declaration(CORSE_ID, [("aci", "1000.00", None)], version=2),
        members(PARIS_ID, 2023, 12),
        flow(CORSE_ID, "aci", "1500.00", flow_id=again),
        declaration(CORSE_ID, [("aci", "900.00", None)], version=1),  # older: does not replace
        flow(PARIS_ID, "aci", "100.00", kind="allocation"),  # not projected
        registered(PARIS_ID, name="CPTS Paris 15"),
    ]


async def facts(db: Database) -> dict[tuple[str, str], dict[str, Any]]:
    async with db.sessionmaker() as session:
        rows = (await session.scalars(select(Fact))).all()
        return {
            (r.kind, r.key): {
                "cpts_id": r.cpts_id,
                "region": r.region,
                "departement": r.departement,
                "year": r.year,
                "event_id": r.event_id,
                "event_type": r.event_type,
                "data": r.data,
            }
            for r in rows
        }


async def marks(db: Database) -> dict[str, int]:
    async with db.sessionmaker() as session:
        return {r.cpts_id: r.version for r in (await session.scalars(select(DirtyCpts))).all()}


async def forget(db: Database) -> None:
    async with db.sessionmaker() as session:
        await session.execute(delete(Fact))
        await session.execute(delete(DirtyCpts))
        await session.commit()


async def in_one_transaction(db: Database, events: list[CloudEvent]) -> None:
    async with db.sessionmaker() as session:
        for item in events:
            await apply_event(session, item)
        await session.commit()


async def test_a_batch_sets_the_facts_events_one_by_one_set(db: Database) -> None:
    events = history()
    for item in events:
        await in_one_transaction(db, [item])
    one_by_one, marked = await facts(db), await marks(db)
    await forget(db)
    await in_one_transaction(db, events)
    batch = await facts(db)

    assert batch == one_by_one
    assert batch[("cpts", CORSE_ID)]["data"]["name"] == "CPTS du Grand Ajaccio"  # merged, in order
    assert batch[("cpts", CORSE_ID)]["data"]["siren"] == "732829320"
    assert batch[("flow", "33333333-3333-4333-8333-333333333333")]["data"]["amount"] == "1500.00"
    assert batch[("declaration", f"{CORSE_ID}:2023")]["data"]["version"] == 2
    assert not any(kind == "flow" and key != "33333333-3333-4333-8333-333333333333" for kind, key in batch)
    # The same CPTS are marked: once per transaction, however many of its events it held.
    assert set(await marks(db)) == set(marked) == {CORSE_ID, PARIS_ID}
    assert await marks(db) == {CORSE_ID: 1, PARIS_ID: 1}


async def test_each_transaction_marks_its_cpts_once_more(db: Database) -> None:
    await in_one_transaction(db, history())
    await in_one_transaction(db, [flow(CORSE_ID, "aci", "10.00"), flow(CORSE_ID, "fir", "20.00")])
    assert await marks(db) == {CORSE_ID: 2, PARIS_ID: 1}
    # A batch whose only event changes nothing (an older declaration) marks nothing.
    await in_one_transaction(db, [declaration(CORSE_ID, [("aci", "1.00", None)], version=1)])
    assert await marks(db) == {CORSE_ID: 2, PARIS_ID: 1}


async def test_the_batch_is_readable_before_its_commit_once_written(db: Database) -> None:
    async with db.sessionmaker() as session:
        for item in history():
            await apply_event(session, item)
        await write_pending(session)
        assert await session.scalar(select(Fact.data).where(Fact.kind == "members")) is not None
        assert set(await session.scalars(select(DirtyCpts.cpts_id))) == {CORSE_ID, PARIS_ID}
        await session.commit()
    assert len(await facts(db)) == 5


async def test_a_rolled_back_transaction_writes_nothing(db: Database) -> None:
    async with db.sessionmaker() as session:
        for item in history():
            await apply_event(session, item)
        await session.rollback()
        await apply_event(session, members(CORSE_ID, 2023, 3))
        await session.commit()
    assert list(await facts(db)) == [("members", f"{CORSE_ID}:2023")]
    assert await marks(db) == {CORSE_ID: 1}


async def test_an_event_in_a_savepoint_is_written_and_rolled_back_alone(db: Database) -> None:
    """The inbox's careful pass: each event in its savepoint, the failing one rolled back."""
    kept, dropped = members(CORSE_ID, 2023, 3), members(PARIS_ID, 2023, 4)
    async with db.sessionmaker() as session:
        async with session.begin_nested():
            await apply_event(session, kept)
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                await apply_event(session, dropped)
                assert await session.scalar(select(Fact.key).where(Fact.cpts_id == PARIS_ID)) is not None
                raise RuntimeError("the handler failed after the projection")
        await session.commit()
    assert list(await facts(db)) == [("members", f"{CORSE_ID}:2023")]
    assert await marks(db) == {CORSE_ID: 1}


async def test_a_malformed_payload_fails_its_own_event(db: Database) -> None:
    """Raised by the event's handler call, not at the commit: the inbox names the event."""
    bad = declaration(CORSE_ID, [("aci", "1.00", None)])
    bad.data["version"] = "two"
    async with db.sessionmaker() as session:
        await apply_event(session, registered(CORSE_ID))
        with pytest.raises(ValueError):
            await apply_event(session, bad)


async def test_the_evaluator_waits_for_the_projection_to_be_quiet(db: Database, tmp_path: Path) -> None:
    """While events keep marking CPTS (a projection catching up), a mark that held still for
    one look is not evaluated yet: its next events are likely in the next batches. Once no
    mark moved for a look, or marks kept moving for ``BUSY_LOOKS`` looks, the stable ones are."""
    settings = make_settings(db.url, tmp_path)
    settled: dict[str, int] = {}

    async def look() -> int:
        async with db.sessionmaker() as session:
            outcome = await commands.evaluate_dirty(session, settings, settled=settled)
            await session.commit()
        return outcome.evaluated

    await in_one_transaction(db, [registered(CORSE_ID), registered(PARIS_ID, name="CPTS Paris 15")])
    assert await look() == 0  # first seen
    await in_one_transaction(db, [members(PARIS_ID, 2023, 12)])
    assert await look() == 0  # Corse held still, but Paris moved: the projection is busy
    assert await look() == 2  # quiet: both evaluated
    assert await marks(db) == {}

    await in_one_transaction(db, [members(CORSE_ID, 2023, 3)])
    assert await look() == 0
    for n in range(commands.BUSY_LOOKS - 2):  # Paris keeps moving, look after look
        await in_one_transaction(db, [members(PARIS_ID, 2023, 20 + n)])
        assert await look() == 0
    await in_one_transaction(db, [members(PARIS_ID, 2023, 99)])
    assert await look() == 1  # marks moved for BUSY_LOOKS looks: Corse, still, is evaluated
    assert await marks(db) == {PARIS_ID: commands.BUSY_LOOKS - 1}  # one mark per transaction
