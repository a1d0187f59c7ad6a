"""The demo loader on a small projection shaped like the registry's and funding's demos: it
goes through the service's rules, obeys what it claims (targets from the defaults, a mix of
evidence, dialogues at most anniversaries, a few funded CPTS with no activity), and is
deterministic."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

from indicators_helpers import make_settings, project
from sqlalchemy import func, select

from cpts_indicators.demo import load_demo
from cpts_indicators.service import spec
from cpts_indicators.storage import models
from cpts_kit.db import Database
from cpts_kit.events import CloudEvent
from cpts_kit.outbox import OutboxEvent
from cpts_kit.service import upgrade

COUNT = 50
TIERS = ("T1", "T2", "T3", "T4")


def _events(index: int) -> list[CloudEvent]:
    cpts_id = str(uuid.UUID(int=index + 1))
    region, departement = ("94", "2A") if index % 2 else ("11", "75")
    signed = date(2020 + index % 3, 1 + index % 12, 1 + index % 27)
    where = {"cpts_id": cpts_id, "region": region, "departement": departement}
    registered = CloudEvent(
        source="/cpts/registry",
        type="fr.cpts.registry.cpts.registered.v1",
        subject=cpts_id,
        data=where
        | {"name": f"CPTS démo {index:03d}", "status": "aci_signed", "aci_signed_on": signed.isoformat(),
           "population": 30_000 + 1000 * index, "size_tier": TIERS[index % 4]},
    )  # fmt: skip
    events = [registered]
    for year in (2022, 2023):
        if signed.year <= year:
            lines: list[dict[str, Any]] = [
                {"mission": m, "fixed": "1000.00", "snp_compensation": "0.00", "variable_max": "1000.00"}
                for m in ("access_to_care", "care_pathways", "prevention", "quality_relevance", "professional_support")
            ]
            events.append(
                CloudEvent(
                    source="/cpts/funding",
                    type="fr.cpts.funding.envelope.computed.v1",
                    subject=cpts_id,
                    data=where | {"year": year, "lines": lines},
                )
            )
    return events


async def _load(url: str, tmp_path: Path) -> tuple[str, list[Any], Database]:
    settings = make_settings(url, tmp_path)
    await upgrade(spec, url)
    db = Database(url)
    await project(db, settings, [e for i in range(COUNT) for e in _events(i)])
    summary = await load_demo(settings)
    async with db.sessionmaker() as session:
        measured = await session.execute(
            select(models.RegistryCpts.name, models.Measurement.year, models.Measurement.indicator,
                   models.Measurement.value, models.Measurement.evidence_strength)
            .join(models.RegistryCpts, models.RegistryCpts.cpts_id == models.Measurement.cpts_id)
        )  # fmt: skip
        rows = sorted(tuple(r) for r in measured)
    return summary, rows, db


async def test_the_demo_obeys_its_rules(database_url: str, tmp_path: Path) -> None:
    summary, rows, db = await _load(database_url, tmp_path)
    try:
        assert summary.startswith("demo data loaded (2022, 2023)"), summary
        async with db.sessionmaker() as session:

            async def count(model: Any, *where: Any) -> int:
                return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

            funded_years = int(
                await session.scalar(
                    select(func.count()).select_from(
                        select(models.EnvelopeLine.cpts_id, models.EnvelopeLine.year).distinct().subquery()
                    )
                )
                or 0
            )
            target_sets = await count(models.TargetSet)
            assert 0 < funded_years - target_sets < funded_years * 0.15  # a few empty shells
            assert f"{target_sets} target sets" in summary
            # Targets are the defaults: no adjustment anywhere.
            assert await count(models.TargetAdjustment) == 0
            assert await count(models.TargetRow, models.TargetRow.default != models.TargetRow.target) == 0
            # A mix of evidence (no documents published here: declarations and extracts).
            strengths = {s for *_, s in rows}
            assert strengths == {"declarative", "system_data"}
            share = sum(1 for *_, s in rows if s == "declarative") / len(rows)
            assert 0.3 < share < 0.8, share
            # Every measured indicator was targeted for its CPTS and year.
            untargeted = await session.scalar(
                select(func.count())
                .select_from(models.Measurement)
                .outerjoin(
                    models.TargetRow,
                    (models.TargetRow.cpts_id == models.Measurement.cpts_id)
                    & (models.TargetRow.year == models.Measurement.year)
                    & (models.TargetRow.indicator == models.Measurement.indicator),
                )
                .where(models.TargetRow.indicator.is_(None))
            )
            assert untargeted == 0
            dialogues = await count(models.Dialogue)
            frozen = await count(models.FrozenAchievement)
            assert target_sets * 0.7 < dialogues <= target_sets and 0.8 * dialogues <= frozen < dialogues
            assert f"{dialogues} dialogues ({frozen} validated" in summary
            # Events went through the outbox: one validated achievement per frozen year.
            validated = [
                e for e in await session.scalars(select(OutboxEvent.body).where(
                    OutboxEvent.type == "fr.cpts.indicators.achievement.computed.v1"))
                if '"validated":true' in e
            ]  # fmt: skip
            assert len(validated) == frozen
        assert await load_demo(make_settings(database_url, tmp_path)) == "demo data already there"
    finally:
        await db.dispose()


async def test_the_demo_is_deterministic(tmp_path: Path) -> None:
    first = await _load(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", tmp_path)
    second = await _load(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", tmp_path)
    await first[2].dispose()
    await second[2].dispose()
    assert first[0] == second[0] and first[1] == second[1] and len(first[1]) > 100


async def test_the_demo_never_hangs_on_events_that_do_not_come(tmp_path: Path) -> None:
    """No registry nor funding events: the bounded wait runs out and says what it found."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    await upgrade(spec, url)
    settings = make_settings(url, tmp_path).model_copy(update={"demo_wait_seconds": 1.0})
    summary = await load_demo(settings)
    assert summary.startswith("no demo indicators: after 1s the projections hold 0 signatories"), summary
    assert "run `cpts demo indicators` once they have arrived" in summary
