"""Deterministic demo indicators, generated from the projections through the service's own
use cases (every rule applies: bounds, evidence checks, the freeze).

``cpts run`` loads the demos in port order: the registry's signatories and funding's ACI
envelopes arrive as events; this loader first waits until the projections are stable (the
same counts for ``demo_settle_polls`` polls in a row, at least ``demo_min_signatories``
signatories, some envelopes; at most ``demo_wait_seconds``), then, seeded, for every CPTS and
year with an ACI envelope (2022 and 2023 in funding's demo), in a fixed order (region,
département, name):

- about 3 % of the CPTS are "empty shells": funded, and nothing at all in any year (no
  targets, no measurement, no dialogue), for the audit's signals to find;
- the others get their default targets (size tier and maturity), set by their ARS, and a
  measurement for about 88 % of the indicators, over the calendar year, with a value drawn
  around the target (35 % to 115 % of the way from the baseline; grades around the target
  grade). Evidence follows a profile drawn per CPTS (rigorous 35 %: 10 % declarative-only;
  average 45 %: 35 %; weak 20 %: 75 %): a declaration only, an information-system extract
  where the indicator accepts one, or a document when the documents service has published
  one for that CPTS and year (none without a documents demo; the indicators that accept only
  documents or declarations then rely on declarations, which the signals show);
- the dialogue on each year is held for about 85 % of them, within 30 days after its due date
  (the anniversary after the year's end) when that date has passed; the ARS validates each
  one, the CPAM 90 % of them (the others stay pending, their year not frozen).

Each CPTS and year is built in memory with the service's own rules (the measurement checks,
the achievement computation, the event builders) and written at once: the same rows and
events as through the API, without a few dozen queries per CPTS and year. It does nothing
when targets or measurements exist.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_indicators import commands
from cpts_indicators.domain import activity
from cpts_indicators.domain.catalogue import Catalogue, Evidence, Indicator, Kind
from cpts_indicators.domain.dialogue import dialogue_due
from cpts_indicators.domain.targets import Target, default_target, maturity
from cpts_indicators.settings import IndicatorsSettings
from cpts_indicators.storage.models import (
    Dialogue,
    EnvelopeLine,
    FrozenAchievement,
    KnownDocument,
    Measurement,
    PublishedSignal,
    RegistryCpts,
    TargetRow,
    TargetSet,
    new_id,
)
from cpts_kit.auth import Principal, Role
from cpts_kit.db import Database, utcnow
from cpts_kit.events import EventPayload
from cpts_kit.missions import Mission
from cpts_kit.outbox import enqueue
from cpts_kit.settings import ServiceSettings

SEED = 2025
LOADER = "demo-loader"
EMPTY_SHELLS = 0.03
MEASURED = 0.88
HELD = 0.85
CPAM_VALIDATES = 0.90
# (share of the CPTS, probability that a measurement rests on a declaration only)
PROFILES = ((Decimal("0.35"), 0.10), (Decimal("0.45"), 0.35), (Decimal("0.20"), 0.75))
SYSTEMS = {
    "access_to_care": "Assurance maladie (patientèle médecin traitant)",
    "care_pathways": "Système d'information de la CPTS",
    "prevention": "Assurance maladie (vaccination)",
    "quality_relevance": "Système d'information de la CPTS",
    "professional_support": "Système d'information de la CPTS",
}


@dataclass(frozen=True)
class ProjectionCounts:
    signatories: int
    envelopes: int
    documents: int


async def projection_counts(db: Database) -> ProjectionCounts:
    async with db.sessionmaker() as session:
        signed = await session.scalar(
            select(func.count()).select_from(RegistryCpts).where(RegistryCpts.aci_signed_on.is_not(None))
        )
        envelopes = await session.scalar(select(func.count()).select_from(EnvelopeLine))
        documents = await session.scalar(select(func.count()).select_from(KnownDocument))
    return ProjectionCounts(int(signed or 0), int(envelopes or 0), int(documents or 0))


async def wait_for_projection(db: Database, settings: IndicatorsSettings) -> tuple[ProjectionCounts, bool]:
    """The projection counts once they held still (``True``), or when the bounded wait ran out
    (``False``): the loader never hangs on events that do not come."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.demo_wait_seconds
    previous, settled = await projection_counts(db), 0
    while True:
        await asyncio.sleep(settings.demo_poll_seconds)
        current = await projection_counts(db)
        # Funding's relay publishes in batches: the counts must hold for several polls.
        settled = settled + 1 if current == previous else 0
        enough = current.signatories >= settings.demo_min_signatories and current.envelopes
        if settled >= settings.demo_settle_polls and enough:
            return current, True
        if loop.time() >= deadline:
            return current, False
        previous = current


async def load_demo(settings: ServiceSettings, seed: int = SEED) -> str:
    """Load the demo indicators into an empty database; a loaded database is left as it is."""
    own = settings if isinstance(settings, IndicatorsSettings) else IndicatorsSettings()
    db = Database(settings.database_url)
    try:
        async with db.sessionmaker() as session:
            existing = int(await session.scalar(select(func.count()).select_from(TargetSet)) or 0)
            existing += int(await session.scalar(select(func.count()).select_from(Measurement)) or 0)
        if existing:
            return "demo data already there"
        counts, settled = await wait_for_projection(db, own)
        if counts.signatories < own.demo_min_signatories or not counts.envelopes:
            return (
                f"no demo indicators: after {own.demo_wait_seconds:.0f}s the projections hold {counts.signatories} "
                f"signatories and {counts.envelopes} envelope lines; run `cpts demo indicators` once they have arrived"
            )
        async with db.sessionmaker() as session:
            summary = await Generator(session, settings, random.Random(seed)).run()
            await session.commit()
        if not settled:
            summary += (
                f" (funding's envelopes were still arriving after {own.demo_wait_seconds:.0f}s: "
                f"loaded on the {counts.envelopes} envelope lines there)"
            )
        return summary
    finally:
        await db.dispose()


@dataclass
class Generator:
    session: AsyncSession
    settings: ServiceSettings
    rng: random.Random
    evidence: Counter[str] = field(default_factory=Counter)
    target_sets: int = 0
    dialogues: int = 0
    validated: int = 0
    shells: set[str] = field(default_factory=set)
    documents: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    maxima: dict[tuple[str, int], dict[Mission, Decimal]] = field(default_factory=dict)
    funded: dict[tuple[str, int], dict[Mission, Decimal]] = field(default_factory=dict)
    catalogues: dict[int, Catalogue] = field(default_factory=dict)
    signals: dict[tuple[str, int], PublishedSignal] = field(default_factory=dict)

    async def run(self) -> str:
        funded = await self.session.execute(select(EnvelopeLine.cpts_id, EnvelopeLine.year).distinct())
        by_year: dict[int, set[str]] = {}
        for cpts_id, year in funded:
            by_year.setdefault(int(year), set()).add(cpts_id)
        rows = {c.cpts_id: c for c in await self.session.scalars(select(RegistryCpts))}
        order = sorted(
            (c for c in rows.values() if c.size_tier and c.aci_signed_on),
            key=lambda c: (c.region, c.departement, c.name, c.population, c.aci_signed_on, c.cpts_id),
        )
        profiles: dict[str, float] = {}
        for cpts in order:
            if self.rng.random() < EMPTY_SHELLS:
                self.shells.add(cpts.cpts_id)
            profiles[cpts.cpts_id] = self._profile()
        for line in await self.session.scalars(select(EnvelopeLine)):
            mission = Mission(line.mission)
            self.maxima.setdefault((line.cpts_id, line.year), {})[mission] = Decimal(line.variable_max)
            self.funded.setdefault((line.cpts_id, line.year), {})[mission] = Decimal(line.fixed) + Decimal(
                line.variable_max
            )
        for signal in await self.session.scalars(select(PublishedSignal).where(PublishedSignal.kind == "activity")):
            self.signals[(signal.cpts_id, signal.year)] = signal
        for year in by_year:
            self.catalogues[year] = await commands.catalogue_for_year(self.session, year)
        for document in await self.session.scalars(select(KnownDocument).order_by(KnownDocument.document_id)):
            if document.verdict != "rejected":
                self.documents.setdefault((document.cpts_id, document.fiscal_year), []).append(document.document_id)
        for year in sorted(by_year):
            for index, cpts in enumerate(order):
                if cpts.cpts_id in by_year[year] and cpts.cpts_id not in self.shells:
                    await self._year(cpts, year, profiles[cpts.cpts_id])
                if index % 100 == 99:
                    await self.session.flush()
            await self.session.flush()
        measured = sum(self.evidence.values())
        shares = ", ".join(f"{100 * self.evidence[e.value] / max(measured, 1):.0f} % {e.value}" for e in Evidence)
        years = ", ".join(str(y) for y in sorted(by_year))
        funded_shells = sum(1 for c in self.shells if any(c in ids for ids in by_year.values()))
        return (
            f"demo data loaded ({years}): {self.target_sets} target sets, {measured} measurements ({shares}), "
            f"{self.dialogues} dialogues ({self.validated} validated by the ARS and the CPAM), "
            f"{funded_shells} CPTS funded with no activity"
        )

    def _profile(self) -> float:
        draw, total = Decimal(str(self.rng.random())), Decimal(0)
        for share, declarative in PROFILES:
            total += share
            if draw < total:
                return declarative
        return PROFILES[-1][1]

    async def _year(self, cpts: RegistryCpts, year: int, declarative: float) -> None:
        """One CPTS and year, built in memory with the service's own rules and event builders
        (the per-request use cases would cost a few dozen queries each)."""
        ars = Principal(subject=LOADER, role=Role.ARS, region=cpts.region)
        catalogue = self.catalogues[year]
        tier, years = str(cpts.size_tier), maturity(cpts.aci_signed_on, year)
        now = utcnow()
        rows: list[commands.TargetRowView] = []
        for indicator in catalogue.indicators:
            default = default_target(catalogue, indicator, tier, years)
            rows.append((indicator, default, default, None))
        targets = commands.Targets(cpts, year, catalogue, tier, years, True, LOADER, now, rows, [])
        self.session.add(
            TargetSet(
                cpts_id=cpts.cpts_id, year=year, region=cpts.region, departement=cpts.departement,
                catalogue_version=catalogue.version, size_tier=tier, maturity=years, set_by=LOADER, set_at=now,
            )
        )  # fmt: skip
        for indicator, default, _target, _reason in rows:
            self.session.add(
                TargetRow(
                    cpts_id=cpts.cpts_id, year=year, indicator=indicator.code, mission=indicator.mission.value,
                    baseline=None if default.baseline is None else str(default.baseline),
                    default=default.shown, target=default.shown, reason=None,
                )
            )  # fmt: skip
        self._publish(cpts, commands.targets_event(targets))
        self.target_sets += 1
        measurements = []
        for indicator, _default, target, _reason in rows:
            if self.rng.random() >= MEASURED:
                continue
            given = self._measurement(cpts, year, indicator, target, declarative)
            if given is None:
                continue
            # The demo cites only documents the projection holds for this CPTS and year.
            assert all(d in self.documents.get((cpts.cpts_id, year), []) for d in given.documents)
            row, event = commands.checked_measurement(cpts, ars, targets, given)
            self.session.add(row)
            self._publish(cpts, event)
            measurements.append(row)
            self.evidence[given.strength.value] += 1
        maxima = self.maxima.get((cpts.cpts_id, year), {})
        result = commands.compute(targets, measurements, maxima)
        self._publish(cpts, commands.achievement_event(result))
        held = False
        assert cpts.aci_signed_on is not None
        due = dialogue_due(cpts.aci_signed_on, year)
        if due is not None and due <= date.today() and self.rng.random() < HELD:
            held = True
            self._dialogue(cpts, year, due, result)
        signals = activity.assess(
            funded={m for m, amount in self.funded.get((cpts.cpts_id, year), {}).items() if amount > 0},
            measured={
                mission: [Evidence(m.evidence_strength) for m in measurements if m.mission == mission.value]
                for mission in {Mission(m.mission) for m in measurements}
            },
            signed_on=cpts.aci_signed_on,
            year=year,
            dialogue_held=held,
            as_of=date.today(),
        )
        payload = commands.activity_event(cpts, year, signals, date.today())
        body = commands.signal_body(payload)
        kept = self.signals.get((cpts.cpts_id, year))
        if kept is not None and kept.body == body:
            return
        if kept is None:
            self.session.add(PublishedSignal(cpts_id=cpts.cpts_id, year=year, kind="activity", body=body))
        else:
            kept.body = body
        self._publish(cpts, payload)

    def _publish(self, cpts: RegistryCpts, payload: EventPayload) -> None:
        enqueue(self.session, self.settings, cpts.cpts_id, payload)

    def _dialogue(self, cpts: RegistryCpts, year: int, due: date, result: commands.Achievement) -> None:
        held_on = min(due + timedelta(days=self.rng.randrange(0, 31)), date.today())
        validated_at = datetime.combine(held_on, time(12), tzinfo=UTC)
        row = Dialogue(
            dialogue_id=new_id(),
            cpts_id=cpts.cpts_id,
            region=cpts.region,
            departement=cpts.departement,
            year=year,
            held_on=held_on,
            participants=[
                {"name": "Coordinator (demo)", "party": "cpts", "organisation": cpts.name or cpts.cpts_id},
                {"name": "ARS delegate (demo)", "party": "ars", "organisation": f"ARS of region {cpts.region}"},
                {"name": "CPAM delegate (demo)", "party": "cpam", "organisation": f"CPAM {cpts.departement}"},
            ],
            grid=[
                {
                    "mission": m.mission.value,
                    "results": f"Achievement {m.rate:.0%}",
                    "difficulties": "",
                    "means": "",
                    "cpts_comment": "",
                }
                for m in result.missions
            ],
            decisions={"targets_next_year": [], "variable_part_validated": True, "documents_requested": []},
            recorded_by=LOADER,
            recorded_at=validated_at,
        )
        self.session.add(row)
        self.dialogues += 1
        self._publish(cpts, commands.dialogue_event(row))
        row.ars_validated_by, row.ars_validated_at = LOADER, validated_at
        self._publish(cpts, commands.dialogue_event(row))
        if self.rng.random() >= CPAM_VALIDATES:
            return
        row.cpam_validated_by, row.cpam_validated_at = LOADER, validated_at
        self._publish(cpts, commands.dialogue_event(row))
        frozen = replace(result, frozen=True, dialogue_id=row.dialogue_id)
        self.session.add(
            FrozenAchievement(
                cpts_id=cpts.cpts_id, year=year, dialogue_id=row.dialogue_id, body=commands.frozen_body(frozen)
            )
        )
        self._publish(cpts, commands.achievement_event(frozen))
        self.validated += 1

    def _evidence(self, indicator: Indicator, cpts: RegistryCpts, year: int, declarative: float) -> Evidence | None:
        accepted = indicator.evidence
        documents = self.documents.get((cpts.cpts_id, year), [])
        if Evidence.DECLARATIVE in accepted and self.rng.random() < declarative:
            return Evidence.DECLARATIVE
        if documents and Evidence.DOCUMENT in accepted and self.rng.random() < 0.5:
            return Evidence.DOCUMENT
        for strength in (Evidence.SYSTEM_DATA, Evidence.DOCUMENT, Evidence.DECLARATIVE):
            if strength in accepted and (strength is not Evidence.DOCUMENT or documents):
                return strength
        return None

    def _measurement(
        self, cpts: RegistryCpts, year: int, indicator: Indicator, target: Target, declarative: float
    ) -> commands.MeasurementInput | None:
        strength = self._evidence(indicator, cpts, year, declarative)
        if strength is None:
            return None
        if indicator.kind is Kind.QUALITATIVE:
            assert target.grade is not None
            aimed = indicator.grade_index(target.grade) or 0
            reached = aimed + self.rng.choice((-2, -1, -1, 0, 0, 0, 1))
            value = indicator.grades[max(0, min(reached, len(indicator.grades) - 1))].code
        else:
            assert target.target is not None and target.baseline is not None
            progress = Decimal(self.rng.randrange(35, 116)) / 100
            number = target.baseline + (target.target - target.baseline) * progress
            places = Decimal("0.01") if indicator.unit == "%" else Decimal(1)
            value = f"{max(number, Decimal(0)).quantize(places, rounding=ROUND_HALF_EVEN)}"
        documents = self.documents.get((cpts.cpts_id, year), [])[:1] if strength is Evidence.DOCUMENT else []
        extract: dict[str, Any] | None = None
        if strength is Evidence.SYSTEM_DATA:
            extract = {
                "system": SYSTEMS[indicator.mission.value],
                "reference": f"EXT-{year}-{indicator.code}",
                "extracted_on": date(year + 1, 1, 31).isoformat(),
            }
        return commands.MeasurementInput(
            indicator=indicator.code,
            year=year,
            period_start=date(year, 1, 1),
            period_end=date(year, 12, 31),
            value=value,
            source="CPTS coordinator (demo)",
            strength=strength,
            documents=documents,
            extract=extract,
            declaration="Stated in the activity report (demo)" if strength is Evidence.DECLARATIVE else None,
        )
