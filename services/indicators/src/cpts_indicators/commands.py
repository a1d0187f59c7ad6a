"""Use cases of the indicators service: load a catalogue version, set targets, record
measurements, assess achievement, hold and validate dialogues de gestion, publish the signals.

Each write runs in the caller's transaction with its events (outbox); the routers commit.
Inputs are plain dataclasses (the routers build them from the HTTP schemas); results are
domain objects or the dataclasses below.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_indicators.domain import achievement as rules
from cpts_indicators.domain import activity, catalogue
from cpts_indicators.domain.catalogue import Catalogue, Evidence, Indicator, Kind
from cpts_indicators.domain.dialogue import REQUIRED_PARTIES, Party
from cpts_indicators.domain.targets import Target, adjustment_problem, default_target, maturity
from cpts_indicators.events import payloads
from cpts_indicators.storage.models import (
    CatalogueVersion,
    Dialogue,
    EnvelopeLine,
    FrozenAchievement,
    KnownDocument,
    Measurement,
    PublishedSignal,
    RegistryCpts,
    TargetAdjustment,
    TargetRow,
    TargetSet,
    new_id,
)
from cpts_kit.auth import Principal, Role
from cpts_kit.db import utcnow
from cpts_kit.missions import Mission
from cpts_kit.money import parse_decimal
from cpts_kit.outbox import enqueue
from cpts_kit.problems import Problem, field_error, invalid, not_found
from cpts_kit.settings import ServiceSettings

SHIPPED_BY = "shipped with the service"
MISSION_VALUES = frozenset(m.value for m in Mission)


def frozen_problem(cpts_id: str, year: int) -> Problem:
    return Problem(
        409,
        f"The achievement of {cpts_id} for {year} was validated by the ARS and the CPAM in the dialogue de gestion:"
        " the year is frozen",
        type_="/problems/year-frozen",
        title="Year frozen",
    )


# --- the CPTS, as the registry's events told us --------------------------------------------


async def load_visible_cpts(session: AsyncSession, principal: Principal, cpts_id: str) -> RegistryCpts:
    """The CPTS, or a 404 when unknown or outside the caller's territory (indistinguishable)."""
    cpts = await session.get(RegistryCpts, cpts_id)
    if cpts is None or not principal.sees(region=cpts.region, departement=cpts.departement, cpts_id=cpts.cpts_id):
        raise not_found("CPTS", cpts_id)
    return cpts


# --- catalogue --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedCatalogue:
    catalogue: Catalogue
    document: dict[str, Any]
    loaded_by: str
    loaded_at: Any  # datetime, or None for the shipped version


@functools.cache
def shipped_catalogue() -> LoadedCatalogue:
    """Read once per process: the shipped file never changes while the service runs."""
    document = catalogue.shipped()
    return LoadedCatalogue(catalogue.from_document(document), document, SHIPPED_BY, None)


async def catalogues(session: AsyncSession) -> list[LoadedCatalogue]:
    """Every version: the shipped illustrative one and those loaded, by effective year."""
    loaded = [
        LoadedCatalogue(catalogue.from_document(row.body), row.body, row.loaded_by, row.loaded_at)
        for row in await session.scalars(select(CatalogueVersion))
    ]
    every = [shipped_catalogue(), *loaded]
    return sorted(every, key=lambda c: (c.catalogue.effective_year, c.loaded_at is not None, c.loaded_at or 0))


async def catalogue_version(session: AsyncSession, version: str) -> LoadedCatalogue:
    for loaded in await catalogues(session):
        if loaded.catalogue.version == version:
            return loaded
    raise not_found("Catalogue version", version)


async def catalogue_for_year(session: AsyncSession, year: int) -> Catalogue:
    """The version in force for ``year``: the latest effective at or before it (the latest
    loaded wins a tie)."""
    applicable = [c for c in await catalogues(session) if c.catalogue.effective_year <= year]
    if not applicable:
        raise Problem(409, f"No catalogue version is in force for {year}", type_="/problems/no-catalogue")
    return applicable[-1].catalogue


async def put_catalogue(
    session: AsyncSession, principal: Principal, version: str, document: dict[str, Any]
) -> tuple[LoadedCatalogue, bool]:
    """Load a new version (True), or find the same one again (False). Versions never change:
    another content under a known version is a 409."""
    document = {**document, "version": version}
    built = catalogue.from_document(document)
    found = catalogue.problems(built)
    if found:
        raise Problem(
            422,
            f"The catalogue is not usable: {found[0][1]}",
            type_="/problems/validation-error",
            errors=[field_error(f, m, "invalid_catalogue") for f, m in found],
        )
    if version == shipped_catalogue().catalogue.version:
        raise Problem(
            409, f"{version} is the shipped version; load yours under another name", type_="/problems/conflict"
        )
    existing = await session.get(CatalogueVersion, version)
    if existing is not None:
        if existing.body != document:
            raise Problem(
                409, f"Catalogue version {version} exists with another content; versions never change",
                type_="/problems/conflict",
            )  # fmt: skip
        return LoadedCatalogue(built, existing.body, existing.loaded_by, existing.loaded_at), False
    row = CatalogueVersion(
        version=version,
        effective_year=built.effective_year,
        illustrative=built.illustrative,
        label=built.label,
        body=document,
        loaded_by=principal.subject,
        loaded_at=utcnow(),
    )
    session.add(row)
    await session.flush()
    return LoadedCatalogue(built, document, row.loaded_by, row.loaded_at), True


# --- targets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetChoice:
    indicator: str
    target: str | None  # None: the default
    reason: str | None


TargetRowView = tuple[Indicator, Target, Target, str | None]  # indicator, default, target, reason


@dataclass(frozen=True)
class Targets:
    """A CPTS's targets for a year: those set, or the defaults when none were set."""

    cpts: RegistryCpts
    year: int
    catalogue: Catalogue
    size_tier: str
    maturity: int
    is_set: bool
    set_by: str | None
    set_at: Any
    rows: list[TargetRowView]
    adjustments: list[TargetAdjustment]


async def frozen(session: AsyncSession, cpts_id: str, year: int) -> FrozenAchievement | None:
    return await session.get(FrozenAchievement, (cpts_id, year))


def _tier(cpts: RegistryCpts) -> str:
    if cpts.size_tier not in ("T1", "T2", "T3", "T4"):
        raise Problem(
            409, f"The size tier of {cpts.cpts_id} is not known yet (from the registry's events)",
            type_="/problems/size-tier-unknown",
        )  # fmt: skip
    return str(cpts.size_tier)


def _target_from_text(indicator: Indicator, default: Target, text: str, field: str) -> Target:
    if indicator.kind is Kind.QUALITATIVE:
        if indicator.grade_index(text) is None:
            codes = ", ".join(g.code for g in indicator.grades)
            raise invalid(field, f"a grade of {indicator.code}: {codes}", "not_a_grade")
        return Target(indicator.code, None, None, text)
    try:
        number = parse_decimal(text, places=2, what="target", example="150")
    except ValueError as exc:
        raise invalid(field, f"a decimal number with at most two decimals ({exc})", "not_a_number") from None
    return Target(indicator.code, default.baseline, number, None)


async def targets_of(session: AsyncSession, cpts: RegistryCpts, year: int) -> Targets:
    tier = _tier(cpts)
    years = maturity(cpts.aci_signed_on, year)
    header = await session.get(TargetSet, (cpts.cpts_id, year))
    if header is None:
        cat = await catalogue_for_year(session, year)
        rows: list[TargetRowView] = []
        for indicator in cat.indicators:
            default = default_target(cat, indicator, tier, years)
            rows.append((indicator, default, default, None))
        return Targets(cpts, year, cat, tier, years, False, None, None, rows, [])
    cat = (await catalogue_version(session, header.catalogue_version)).catalogue
    stored = {
        r.indicator: r
        for r in await session.scalars(
            select(TargetRow).where(TargetRow.cpts_id == cpts.cpts_id, TargetRow.year == year)
        )
    }
    rows = []
    for indicator in cat.indicators:
        row = stored.get(indicator.code)
        if row is None:
            continue
        default = default_target(cat, indicator, header.size_tier, header.maturity)
        rows.append((indicator, default, _target_from_text(indicator, default, row.target, "target"), row.reason))
    adjustments = list(
        await session.scalars(
            select(TargetAdjustment)
            .where(TargetAdjustment.cpts_id == cpts.cpts_id, TargetAdjustment.year == year)
            .order_by(TargetAdjustment.seq)
        )
    )
    return Targets(
        cpts, year, cat, header.size_tier, header.maturity, True, header.set_by, header.set_at, rows, adjustments
    )


async def set_targets(
    session: AsyncSession,
    settings: ServiceSettings,
    principal: Principal,
    cpts: RegistryCpts,
    year: int,
    choices: list[TargetChoice],
) -> Targets:
    """Replace the year's targets: indicators chosen from the catalogue in force, each at its
    default or adjusted within the catalogue's bounds with a reason (kept)."""
    if await frozen(session, cpts.cpts_id, year):
        raise frozen_problem(cpts.cpts_id, year)
    tier = _tier(cpts)
    years = maturity(cpts.aci_signed_on, year)
    cat = await catalogue_for_year(session, year)
    header = await session.get(TargetSet, (cpts.cpts_id, year))
    if header is not None and header.catalogue_version != cat.version:
        # The year's targets stay on the version they were set with.
        cat = (await catalogue_version(session, header.catalogue_version)).catalogue
    seen: set[str] = set()
    chosen: list[tuple[Indicator, Target, Target, str | None]] = []
    for index, choice in enumerate(choices):
        field = f"indicators.{index}"
        indicator = cat.indicator(choice.indicator)
        if indicator is None:
            raise invalid(f"{field}.indicator", f"not an indicator of catalogue {cat.version}", "unknown_indicator")
        if indicator.code in seen:
            raise invalid(f"{field}.indicator", f"{indicator.code} is chosen twice", "duplicate_indicator")
        seen.add(indicator.code)
        default = default_target(cat, indicator, tier, years)
        wanted = default if choice.target is None else _target_from_text(indicator, default, choice.target, field)
        reason = (choice.reason or "").strip() or None
        if wanted != default:
            if reason is None or len(reason) < 10:
                raise invalid(
                    f"{field}.reason", "an adjusted target needs its reason (10 characters or more)", "reason"
                )
            problem = adjustment_problem(cat, indicator, default, wanted)
            if problem:
                raise invalid(f"{field}.target", problem, "target_out_of_bounds")
        chosen.append((indicator, default, wanted, reason if wanted != default else None))
    previous = {
        r.indicator: r
        for r in await session.scalars(
            select(TargetRow).where(TargetRow.cpts_id == cpts.cpts_id, TargetRow.year == year)
        )
    }
    for row in previous.values():
        await session.delete(row)
    await session.flush()
    if header is None:
        header = TargetSet(cpts_id=cpts.cpts_id, year=year)
        session.add(header)
    header.region, header.departement = cpts.region, cpts.departement
    header.catalogue_version, header.size_tier, header.maturity = cat.version, tier, years
    header.set_by, header.set_at = principal.subject, utcnow()
    for indicator, default, wanted, reason in chosen:
        session.add(
            TargetRow(
                cpts_id=cpts.cpts_id,
                year=year,
                indicator=indicator.code,
                mission=indicator.mission.value,
                baseline=None if default.baseline is None else str(default.baseline),
                default=default.shown,
                target=wanted.shown,
                reason=reason,
            )
        )
        before = previous.get(indicator.code)
        if wanted != default and (before is None or before.target != wanted.shown or before.reason != reason):
            assert reason is not None
            session.add(
                TargetAdjustment(
                    cpts_id=cpts.cpts_id,
                    year=year,
                    indicator=indicator.code,
                    default=default.shown,
                    target=wanted.shown,
                    reason=reason,
                    adjusted_by=principal.subject,
                    adjusted_role=principal.role.value,
                )
            )
    await session.flush()
    result = await targets_of(session, cpts, year)
    enqueue(session, settings, cpts.cpts_id, targets_event(result))
    await publish_assessment(session, settings, cpts, year)
    return result


def targets_event(targets: Targets) -> payloads.TargetsSet:
    return payloads.TargetsSet(
        cpts_id=targets.cpts.cpts_id,
        region=targets.cpts.region,
        departement=targets.cpts.departement,
        year=targets.year,
        catalogue_version=targets.catalogue.version,
        size_tier=targets.size_tier,
        maturity=targets.maturity,
        targets=[
            payloads.TargetData(
                indicator=indicator.code,
                mission=indicator.mission,
                baseline=None if default.baseline is None else str(default.baseline),
                default=default.shown,
                target=target.shown,
                adjusted=target != default,
                reason=reason,
            )
            for indicator, default, target, reason in targets.rows
        ],
    )


# --- measurements -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasurementInput:
    indicator: str
    year: int
    period_start: date
    period_end: date
    value: str
    source: str
    strength: Evidence
    documents: list[str]
    extract: dict[str, Any] | None
    declaration: str | None


def _value_problem(indicator: Indicator, value: str) -> tuple[str, str] | None:
    if indicator.kind is Kind.QUALITATIVE:
        if indicator.grade_index(value) is None:
            codes = ", ".join(g.code for g in indicator.grades)
            return f"{indicator.code} is qualitative: a grade of {codes}", "not_a_grade"
        return None
    try:
        number = parse_decimal(value, places=4, what="value", example="12.5")
    except ValueError:
        return f"{indicator.code} is quantitative ({indicator.unit}): a decimal string such as 12.5", "not_a_number"
    if number < 0:
        return "a measured value is zero or more", "negative_value"
    return None


async def _check_documents(session: AsyncSession, cpts: RegistryCpts, document_ids: list[str]) -> None:
    for index, document_id in enumerate(document_ids):
        known = await session.get(KnownDocument, document_id)
        field = f"evidence.documents.{index}"
        if known is None or known.cpts_id != cpts.cpts_id:
            # Another CPTS's document answers like an unknown one: its existence is not told.
            raise invalid(field, f"{document_id} is not a document received from this CPTS", "unknown_document")
        if known.verdict == "rejected":
            raise invalid(field, f"{document_id} was rejected by the documents service", "rejected_document")


def checked_measurement(
    cpts: RegistryCpts, principal: Principal, targets: Targets, given: MeasurementInput
) -> tuple[Measurement, payloads.MeasurementRecorded]:
    """The measurement and its event, once every rule that needs no database holds (the
    documents cited and the freeze are checked by the caller)."""
    for name, day in (("period_start", given.period_start), ("period_end", given.period_end)):
        if day.year != given.year:
            raise invalid(name, f"{day} is outside {given.year}", "period_outside_year")
    if given.period_end < given.period_start:
        raise invalid("period_end", "before period_start", "period_reversed")
    if given.period_end > date.today():
        raise invalid("period_end", "a period not over yet cannot be measured", "future_period")
    indicator = targets.catalogue.indicator(given.indicator)
    if indicator is None:
        raise invalid("indicator", f"not an indicator of catalogue {targets.catalogue.version}", "unknown_indicator")
    if targets.is_set and all(i.code != indicator.code for i, *_ in targets.rows):
        raise invalid("indicator", f"{indicator.code} is not among the targets of {given.year}", "not_targeted")
    if (problem := _value_problem(indicator, given.value)) is not None:
        raise invalid("value", *problem)
    if given.strength not in indicator.evidence:
        accepted = ", ".join(sorted(e.value for e in indicator.evidence))
        raise invalid("evidence.strength", f"{indicator.code} accepts {accepted}", "evidence_not_accepted")
    if given.strength is Evidence.DOCUMENT and not given.documents:
        raise invalid("evidence.documents", "document evidence cites at least one document", "documents_required")
    if given.strength is Evidence.SYSTEM_DATA and given.extract is None:
        raise invalid("evidence.extract", "system_data evidence names its extract", "extract_required")
    value = given.value.strip()
    if indicator.kind is Kind.QUANTITATIVE:
        value = f"{parse_decimal(value, places=4, what='value', example='12.5').normalize():f}"
    row = Measurement(
        measurement_id=new_id(),
        cpts_id=cpts.cpts_id,
        region=cpts.region,
        departement=cpts.departement,
        year=given.year,
        indicator=indicator.code,
        mission=indicator.mission.value,
        period_start=given.period_start,
        period_end=given.period_end,
        value=value,
        source=given.source,
        evidence_strength=given.strength.value,
        documents=list(given.documents),
        extract=given.extract,
        declaration=given.declaration,
        recorded_by=principal.subject,
        recorded_at=utcnow(),
    )
    event = payloads.MeasurementRecorded(
        measurement_id=row.measurement_id,
        cpts_id=cpts.cpts_id,
        region=cpts.region,
        departement=cpts.departement,
        year=row.year,
        indicator=row.indicator,
        mission=indicator.mission,
        period_start=row.period_start,
        period_end=row.period_end,
        evidence_strength=given.strength,
        documents=row.documents,
    )
    return row, event


async def record_measurement(
    session: AsyncSession, settings: ServiceSettings, principal: Principal, cpts: RegistryCpts, given: MeasurementInput
) -> Measurement:
    if await frozen(session, cpts.cpts_id, given.year):
        raise frozen_problem(cpts.cpts_id, given.year)
    targets = await targets_of(session, cpts, given.year)
    row, event = checked_measurement(cpts, principal, targets, given)
    await _check_documents(session, cpts, given.documents)
    session.add(row)
    enqueue(session, settings, cpts.cpts_id, event)
    await publish_assessment(session, settings, cpts, given.year)
    return row


# --- achievement ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MissionAchievement:
    mission: Mission
    rate: Decimal
    indicators_count: int
    measurements_count: int
    declarative_share: Decimal | None
    variable_maximum: Decimal | None
    variable_earned: Decimal | None


@dataclass(frozen=True)
class Achievement:
    cpts: RegistryCpts
    year: int
    catalogue_version: str
    illustrative: bool
    targets_set: bool
    frozen: bool
    dialogue_id: str | None
    indicators: list[rules.IndicatorResult]
    missions: list[MissionAchievement]


async def _variable_maxima(session: AsyncSession, cpts_id: str, year: int) -> dict[Mission, Decimal]:
    rows = await session.scalars(select(EnvelopeLine).where(EnvelopeLine.cpts_id == cpts_id, EnvelopeLine.year == year))
    return {Mission(r.mission): Decimal(r.variable_max) for r in rows if r.mission in MISSION_VALUES}


async def _measurements(session: AsyncSession, cpts_id: str, year: int) -> list[Measurement]:
    return list(
        await session.scalars(
            select(Measurement)
            .where(Measurement.cpts_id == cpts_id, Measurement.year == year)
            .order_by(Measurement.seq)
        )
    )


def _counting(measurements: list[Measurement]) -> dict[str, rules.Measured]:
    """The measurement that counts per indicator: the latest period end, then the latest
    recorded (``measurements`` come in the order they were recorded)."""
    best: dict[str, Measurement] = {}
    for m in measurements:
        current = best.get(m.indicator)
        if current is None or m.period_end >= current.period_end:
            best[m.indicator] = m
    return {code: rules.Measured(m.value, Evidence(m.evidence_strength)) for code, m in best.items()}


def _missions(
    results: list[rules.IndicatorResult], measurements: list[Measurement], maxima: dict[Mission, Decimal]
) -> list[MissionAchievement]:
    missions = []
    for mission in catalogue.VARIABLE_MISSIONS:
        of_mission = [r for r in results if r.mission is mission]
        strengths = [Evidence(m.evidence_strength) for m in measurements if m.mission == mission.value]
        rate = rules.mission_rate(of_mission)
        maximum = maxima.get(mission)
        missions.append(
            MissionAchievement(
                mission=mission,
                rate=rate,
                indicators_count=len(of_mission),
                measurements_count=len(strengths),
                declarative_share=rules.declarative_share(strengths),
                variable_maximum=maximum,
                variable_earned=rules.variable_earned(maximum, rate),
            )
        )
    return missions


async def assess(session: AsyncSession, cpts: RegistryCpts, year: int) -> Achievement:
    """The year's achievement: as frozen by the dialogue, or computed from targets and measurements."""
    maxima = await _variable_maxima(session, cpts.cpts_id, year)
    snapshot = await frozen(session, cpts.cpts_id, year)
    if snapshot is not None:
        return _thawed(cpts, year, snapshot, maxima)
    targets = await targets_of(session, cpts, year)
    return compute(targets, await _measurements(session, cpts.cpts_id, year), maxima)


def compute(targets: Targets, measurements: list[Measurement], maxima: dict[Mission, Decimal]) -> Achievement:
    """The achievement from the year's targets, measurements and variable maxima (no database)."""
    counting = _counting(measurements)
    results = [
        rules.assess_indicator(indicator, target, counting.get(indicator.code))
        for indicator, _default, target, _reason in targets.rows
    ]
    return Achievement(
        cpts=targets.cpts,
        year=targets.year,
        catalogue_version=targets.catalogue.version,
        illustrative=targets.catalogue.illustrative,
        targets_set=targets.is_set,
        frozen=False,
        dialogue_id=None,
        indicators=results,
        missions=_missions(results, measurements, maxima),
    )


def frozen_body(result: Achievement) -> dict[str, Any]:
    return {
        "catalogue_version": result.catalogue_version,
        "illustrative": result.illustrative,
        "targets_set": result.targets_set,
        "indicators": [
            {
                "indicator": r.indicator,
                "mission": r.mission.value,
                "weight": str(r.weight),
                "value": r.value,
                "target": r.target,
                "rate": str(r.rate),
                "evidence": r.evidence.value if r.evidence else None,
                "factor": str(r.factor),
                "counted": str(r.counted),
                "how": r.how,
            }
            for r in result.indicators
        ],
        "missions": [
            {
                "mission": m.mission.value,
                "rate": str(m.rate),
                "indicators_count": m.indicators_count,
                "measurements_count": m.measurements_count,
                "declarative_share": None if m.declarative_share is None else str(m.declarative_share),
            }
            for m in result.missions
        ],
    }


def _thawed(cpts: RegistryCpts, year: int, snapshot: FrozenAchievement, maxima: dict[Mission, Decimal]) -> Achievement:
    """A frozen achievement; the variable money follows the envelope's current maximum."""
    body = snapshot.body
    indicators = [
        rules.IndicatorResult(
            indicator=i["indicator"],
            mission=Mission(i["mission"]),
            weight=Decimal(i["weight"]),
            value=i["value"],
            target=i["target"],
            rate=Decimal(i["rate"]),
            evidence=Evidence(i["evidence"]) if i["evidence"] else None,
            factor=Decimal(i["factor"]),
            counted=Decimal(i["counted"]),
            how=i["how"],
        )
        for i in body["indicators"]
    ]
    missions = []
    for m in body["missions"]:
        mission, rate = Mission(m["mission"]), Decimal(m["rate"])
        maximum = maxima.get(mission)
        missions.append(
            MissionAchievement(
                mission=mission,
                rate=rate,
                indicators_count=m["indicators_count"],
                measurements_count=m["measurements_count"],
                declarative_share=None if m["declarative_share"] is None else Decimal(m["declarative_share"]),
                variable_maximum=maximum,
                variable_earned=rules.variable_earned(maximum, rate),
            )
        )
    return Achievement(
        cpts=cpts,
        year=year,
        catalogue_version=body["catalogue_version"],
        illustrative=body["illustrative"],
        targets_set=body["targets_set"],
        frozen=True,
        dialogue_id=snapshot.dialogue_id,
        indicators=indicators,
        missions=missions,
    )


def achievement_event(result: Achievement) -> payloads.AchievementComputed:
    return payloads.AchievementComputed(
        cpts_id=result.cpts.cpts_id,
        region=result.cpts.region,
        departement=result.cpts.departement,
        year=result.year,
        catalogue_version=result.catalogue_version,
        validated=result.frozen,
        dialogue_id=result.dialogue_id,
        missions=[
            payloads.MissionAchievementData(
                mission=m.mission,
                rate=f"{m.rate:.4f}",
                variable_maximum=m.variable_maximum,
                variable_earned=m.variable_earned,
                indicators_count=m.indicators_count,
                measurements_count=m.measurements_count,
                declarative_share=None if m.declarative_share is None else f"{m.declarative_share:.4f}",
            )
            for m in result.missions
        ],
    )


async def publish_assessment(session: AsyncSession, settings: ServiceSettings, cpts: RegistryCpts, year: int) -> None:
    """After a change of the year's targets, measurements, envelope or validation: the
    achievement, and the activity signals when they changed."""
    enqueue(session, settings, cpts.cpts_id, achievement_event(await assess(session, cpts, year)))
    await publish_activity(session, settings, cpts, year)


async def envelope_changed(session: AsyncSession, settings: ServiceSettings, cpts_id: str, year: int) -> None:
    """Funding published a new variable maximum: republish unless the year is frozen, or
    nothing was set nor measured (the defaults alone say nothing yet)."""
    cpts = await session.get(RegistryCpts, cpts_id)
    if cpts is None:
        return
    if cpts.size_tier is not None and not await frozen(session, cpts_id, year):
        started = await session.get(TargetSet, (cpts_id, year)) is not None or bool(
            await session.scalar(
                select(Measurement.seq).where(Measurement.cpts_id == cpts_id, Measurement.year == year).limit(1)
            )
        )
        if started:
            enqueue(session, settings, cpts_id, achievement_event(await assess(session, cpts, year)))
    await publish_activity(session, settings, cpts, year)


# --- activity signals -------------------------------------------------------------------------


async def activity_of(session: AsyncSession, cpts: RegistryCpts, year: int, as_of: date) -> activity.Signals:
    lines = await session.scalars(
        select(EnvelopeLine).where(EnvelopeLine.cpts_id == cpts.cpts_id, EnvelopeLine.year == year)
    )
    funded = {Mission(r.mission) for r in lines if Decimal(r.fixed) + Decimal(r.variable_max) > 0}
    measured: dict[Mission, list[Evidence]] = {}
    for m in await _measurements(session, cpts.cpts_id, year):
        measured.setdefault(Mission(m.mission), []).append(Evidence(m.evidence_strength))
    held = await session.scalar(
        select(Dialogue.dialogue_id).where(Dialogue.cpts_id == cpts.cpts_id, Dialogue.year == year)
    )
    return activity.assess(
        funded=funded,
        measured=measured,
        signed_on=cpts.aci_signed_on,
        year=year,
        dialogue_held=held is not None,
        as_of=as_of,
    )


def activity_event(cpts: RegistryCpts, year: int, signals: activity.Signals, today: date) -> payloads.ActivityAssessed:
    return payloads.ActivityAssessed(
        cpts_id=cpts.cpts_id,
        region=cpts.region,
        departement=cpts.departement,
        year=year,
        missions_funded=signals.missions_funded,
        missions_funded_without_measurement=signals.missions_funded_without_measurement,
        measurements_count=signals.measurements_count,
        declarative_share=None if signals.declarative_share is None else f"{signals.declarative_share:.4f}",
        dialogue_missing=signals.dialogue_missing,
        as_of=today,
    )


def signal_body(payload: payloads.ActivityAssessed) -> dict[str, Any]:
    """What a change is judged on (not the day, nor the count of measurements)."""
    return payload.model_dump(mode="json", exclude={"as_of", "measurements_count"})


async def publish_activity(session: AsyncSession, settings: ServiceSettings, cpts: RegistryCpts, year: int) -> None:
    today = date.today()
    payload = activity_event(cpts, year, await activity_of(session, cpts, year, today), today)
    body = signal_body(payload)
    kept = await session.get(PublishedSignal, (cpts.cpts_id, year, "activity"))
    if kept is not None and kept.body == body:
        return
    if kept is None:
        session.add(PublishedSignal(cpts_id=cpts.cpts_id, year=year, kind="activity", body=body))
    else:
        kept.body = body
    enqueue(session, settings, cpts.cpts_id, payload)
    await session.flush()


# --- dialogues de gestion ---------------------------------------------------------------------


@dataclass(frozen=True)
class DialogueInput:
    year: int
    held_on: date
    participants: list[dict[str, Any]]
    grid: list[dict[str, Any]]
    decisions: dict[str, Any]


async def record_dialogue(
    session: AsyncSession, settings: ServiceSettings, principal: Principal, cpts: RegistryCpts, given: DialogueInput
) -> Dialogue:
    if given.held_on.year < given.year:
        raise invalid("held_on", f"a dialogue on {given.year} is held in {given.year} or later", "held_before_year")
    if given.held_on > date.today():
        raise invalid("held_on", "in the future", "future_date")
    parties = {Party(p["party"]) for p in given.participants}
    if missing := sorted(p.value for p in REQUIRED_PARTIES - parties):
        raise invalid("participants", f"the dialogue is tripartite: no participant for {', '.join(missing)}", "parties")
    missions = [g["mission"] for g in given.grid]
    if len(set(missions)) != len(missions):
        raise invalid("grid", "each mission appears once in the grid", "duplicate_mission")
    targets = await targets_of(session, cpts, given.year)
    for index, decision in enumerate(given.decisions.get("targets_next_year", [])):
        if targets.catalogue.indicator(decision["indicator"]) is None:
            raise invalid(
                f"decisions.targets_next_year.{index}.indicator",
                f"not an indicator of catalogue {targets.catalogue.version}",
                "unknown_indicator",
            )
    existing = await session.scalar(
        select(Dialogue).where(Dialogue.cpts_id == cpts.cpts_id, Dialogue.year == given.year)
    )
    if existing is not None:
        raise Problem(
            409, f"A dialogue de gestion on {given.year} is already recorded ({existing.dialogue_id})",
            type_="/problems/conflict", dialogue_id=existing.dialogue_id,
        )  # fmt: skip
    row = Dialogue(
        cpts_id=cpts.cpts_id,
        region=cpts.region,
        departement=cpts.departement,
        year=given.year,
        held_on=given.held_on,
        participants=given.participants,
        grid=given.grid,
        decisions=given.decisions,
        recorded_by=principal.subject,
    )
    session.add(row)
    await session.flush()
    enqueue(session, settings, cpts.cpts_id, dialogue_event(row))
    await publish_activity(session, settings, cpts, given.year)
    return row


def dialogue_event(row: Dialogue) -> payloads.DialogueHeld:
    return payloads.DialogueHeld(
        dialogue_id=row.dialogue_id,
        cpts_id=row.cpts_id,
        region=row.region,
        departement=row.departement,
        year=row.year,
        held_on=row.held_on,
        validated_by_ars=row.ars_validated_by is not None,
        validated_by_cpam=row.cpam_validated_by is not None,
    )


async def load_dialogue(session: AsyncSession, cpts: RegistryCpts, dialogue_id: str) -> Dialogue:
    row = await session.get(Dialogue, dialogue_id)
    if row is None or row.cpts_id != cpts.cpts_id:
        raise not_found("Dialogue", dialogue_id)
    return row


async def validate_dialogue(
    session: AsyncSession, settings: ServiceSettings, principal: Principal, cpts: RegistryCpts, row: Dialogue
) -> Dialogue:
    """The caller's side (ARS or CPAM) validates; once both did, the year's achievement is frozen
    and published as validated."""
    now = utcnow()
    if principal.role is Role.ARS:
        if row.ars_validated_by is not None:
            raise Problem(409, "The ARS already validated this dialogue", type_="/problems/conflict")
        row.ars_validated_by, row.ars_validated_at = principal.subject, now
    elif principal.role is Role.CPAM:
        if row.cpam_validated_by is not None:
            raise Problem(409, "The CPAM already validated this dialogue", type_="/problems/conflict")
        row.cpam_validated_by, row.cpam_validated_at = principal.subject, now
    else:  # the access table lets only the ARS and the CPAM through
        raise Problem(403, "Only the ARS and the CPAM validate a dialogue", type_="/problems/forbidden")
    await session.flush()
    enqueue(session, settings, cpts.cpts_id, dialogue_event(row))
    if row.ars_validated_by is not None and row.cpam_validated_by is not None:
        result = await assess(session, cpts, row.year)
        session.add(
            FrozenAchievement(
                cpts_id=cpts.cpts_id, year=row.year, dialogue_id=row.dialogue_id, body=frozen_body(result)
            )
        )
        await session.flush()
        enqueue(session, settings, cpts.cpts_id, achievement_event(await assess(session, cpts, row.year)))
    return row
