"""Two audit replicas on one PostgreSQL database (the k8s manifests run several): their
consumers mark the same CPTS at once (its events come from several topics) and their
evaluators race on the same facts. Each finding is raised once, with its deterministic id and
one event; a change of facts updates it once; nothing fails (no IntegrityError, no retry)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from audit_helpers import accounts, flagged, flow, registered
from sqlalchemy import func, select

from cpts_audit import commands
from cpts_audit.domain.findings import finding_id
from cpts_audit.events.projection import apply_event
from cpts_audit.service import spec
from cpts_audit.settings import AuditSettings
from cpts_audit.storage.models import DirtyCpts, Finding
from cpts_kit.db import Database
from cpts_kit.events import CloudEvent
from cpts_kit.outbox import OutboxEvent
from cpts_kit.service import upgrade
from cpts_kit.testing import create_postgres_database, drop_postgres_database, make_settings

CPTS = [str(uuid.UUID(int=n, version=4)) for n in range(1, 13)]
YOGA = "out_of_mission_spending"


def facts(cpts_id: str, yoga: str) -> tuple[list[CloudEvent], list[CloudEvent]]:
    """A CPTS's events as two replicas' consumers receive them: the registry's and funding's
    topics on one, the documents' on the other."""
    booked = flagged(27, "604000", "Séance de yoga", yoga, "leisure_or_culture")
    return (
        [registered(cpts_id), flow(cpts_id, "aci", "1000.00")],
        [accounts(cpts_id, {"assurance_maladie": "1000.00"}, flags=[booked], document_id=cpts_id)],
    )


async def consume(db: Database, events: list[CloudEvent]) -> None:
    """One transaction per event, as the consumer's inbox runner does."""
    for item in events:
        async with db.sessionmaker() as session:
            await apply_event(session, item)
            await session.commit()


async def evaluate(db: Database, settings: AuditSettings) -> commands.Outcome:
    """A replica's evaluator loop in small batches, until no mark is left for it."""
    total = commands.Outcome()
    while True:
        async with db.sessionmaker() as session:
            outcome = await commands.evaluate_dirty(session, settings, limit=2)
            await session.commit()
        total.add(outcome)
        if outcome.evaluated == 0:
            async with db.sessionmaker() as session:
                if not await session.scalar(select(func.count()).select_from(DirtyCpts)):
                    return total
            await asyncio.sleep(0.01)  # another replica holds the last marks: wait for its commit


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[tuple[AuditSettings, Database, Database]]:
    url = await create_postgres_database()
    try:
        await upgrade(spec, url)
        settings = make_settings(AuditSettings, url, tmp_path)
        first, second = Database(url), Database(url)
        try:
            yield settings, first, second
        finally:
            await first.dispose()
            await second.dispose()
    finally:
        await drop_postgres_database(url)


async def outbox(db: Database) -> Counter[tuple[str, str]]:
    async with db.sessionmaker() as session:
        bodies = (await session.scalars(select(OutboxEvent.body))).all()
    events = [json.loads(b) for b in bodies]
    return Counter((e["type"].split(".")[3] + "." + e["type"].split(".")[4], e["subject"]) for e in events)


async def test_two_replicas_raise_and_update_each_finding_once(
    replicas: tuple[AuditSettings, Database, Database],
) -> None:
    settings, first, second = replicas
    # Both replicas' consumers mark the same CPTS at once, while both evaluators run.
    await asyncio.gather(
        *(consume(first, facts(c, "800.00")[0]) for c in CPTS),
        *(consume(second, facts(c, "800.00")[1]) for c in CPTS),
    )
    outcomes = await asyncio.gather(evaluate(first, settings), evaluate(second, settings))
    async with first.sessionmaker() as session:
        findings = (await session.scalars(select(Finding).where(Finding.rule == YOGA))).all()
    assert sorted(f.id for f in findings) == sorted(finding_id(YOGA, c, 2023, "flagged") for c in CPTS)
    assert {f.cpts_id for f in findings} == set(CPTS) and all(f.revision == 1 for f in findings)
    events = await outbox(first)
    assert all(events[("finding.raised", c)] >= 1 for c in CPTS)
    raised = sum(n for (kind, _), n in events.items() if kind == "finding.raised")
    async with first.sessionmaker() as session:
        all_findings = await session.scalar(select(func.count()).select_from(Finding))
    assert raised == all_findings, events  # one raised event per finding, whoever raised it
    assert all(events[("risk.changed", c)] == 1 for c in CPTS), events
    assert sum(o.raised for o in outcomes) == all_findings

    # The accounts change: each yoga finding is updated once, by one replica or the other.
    await asyncio.gather(
        *(consume(first if n % 2 else second, facts(c, "950.00")[1]) for n, c in enumerate(CPTS)),
        evaluate(first, settings),
        evaluate(second, settings),
    )
    await asyncio.gather(evaluate(first, settings), evaluate(second, settings))
    async with first.sessionmaker() as session:
        findings = (await session.scalars(select(Finding).where(Finding.rule == YOGA))).all()
    assert {str(f.amount) for f in findings} == {"950.00"} and all(f.revision == 2 for f in findings)
    events = await outbox(first)
    assert all(events[("finding.updated", c)] == 1 for c in CPTS), events
