"""Read side: lists scoped to the caller's territory (measurements, dialogues, dialogues
missing, activity signals). Lists count only what the caller may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_indicators.domain import activity
from cpts_indicators.domain.catalogue import Evidence
from cpts_indicators.domain.dialogue import dialogue_due
from cpts_indicators.storage.models import Dialogue, EnvelopeLine, Measurement, RegistryCpts
from cpts_kit.auth import Principal
from cpts_kit.missions import Mission
from cpts_kit.pagination import PageParams

ACI_SIGNED = "aci_signed"


async def list_measurements(
    session: AsyncSession, cpts: RegistryCpts, year: int | None, indicator: str | None, page: PageParams
) -> tuple[list[Measurement], int]:
    where = [Measurement.cpts_id == cpts.cpts_id]
    if year is not None:
        where.append(Measurement.year == year)
    if indicator is not None:
        where.append(Measurement.indicator == indicator)
    total = await session.scalar(select(func.count()).select_from(Measurement).where(*where))
    rows = await session.scalars(
        select(Measurement).where(*where).order_by(Measurement.seq).limit(page.limit).offset(page.offset)
    )
    return list(rows), int(total or 0)


async def list_dialogues(session: AsyncSession, cpts: RegistryCpts) -> list[Dialogue]:
    rows = await session.scalars(select(Dialogue).where(Dialogue.cpts_id == cpts.cpts_id).order_by(Dialogue.year))
    return list(rows)


def _scope(principal: Principal) -> object:
    return principal.scope_clause(
        region=RegistryCpts.region, departement=RegistryCpts.departement, cpts_id=RegistryCpts.cpts_id
    )


@dataclass(frozen=True)
class MissingDialogue:
    cpts: RegistryCpts
    due_on: date
    days_overdue: int


async def missing_dialogues(
    session: AsyncSession, principal: Principal, year: int, as_of: date, region: str | None, page: PageParams
) -> tuple[list[MissingDialogue], int]:
    """Signatories whose dialogue on ``year`` was due by ``as_of`` (the anniversary after the
    year's end) and was not held."""
    held = select(Dialogue.cpts_id).where(Dialogue.year == year)
    query = select(RegistryCpts).where(
        _scope(principal),  # type: ignore[arg-type]
        RegistryCpts.status == ACI_SIGNED,
        RegistryCpts.aci_signed_on.is_not(None),
        RegistryCpts.cpts_id.not_in(held),
    )
    if region is not None:
        query = query.where(RegistryCpts.region == region)
    found = []
    for cpts in await session.scalars(query.order_by(RegistryCpts.region, RegistryCpts.name, RegistryCpts.cpts_id)):
        assert cpts.aci_signed_on is not None
        due = dialogue_due(cpts.aci_signed_on, year)
        if due is not None and due <= as_of:
            found.append(MissingDialogue(cpts, due, (as_of - due).days))
    return found[page.offset : page.offset + page.limit], len(found)


@dataclass(frozen=True)
class Activity:
    cpts: RegistryCpts
    signals: activity.Signals
    due_on: date | None


async def activity_list(
    session: AsyncSession, principal: Principal, year: int, as_of: date, region: str | None, page: PageParams
) -> tuple[list[Activity], int]:
    """Per CPTS funded that year (an envelope) or signatory by its end: the empty-shell signals."""
    funded_ids = select(EnvelopeLine.cpts_id).where(EnvelopeLine.year == year)
    query = select(RegistryCpts).where(
        _scope(principal),  # type: ignore[arg-type]
        RegistryCpts.cpts_id.in_(funded_ids)
        | ((RegistryCpts.status == ACI_SIGNED) & (RegistryCpts.aci_signed_on <= date(year, 12, 31))),
    )
    if region is not None:
        query = query.where(RegistryCpts.region == region)
    everyone = list(await session.scalars(query.order_by(RegistryCpts.region, RegistryCpts.name, RegistryCpts.cpts_id)))
    ids = [c.cpts_id for c in everyone]
    funded: dict[str, set[Mission]] = {}
    measured: dict[str, dict[Mission, list[Evidence]]] = {}
    held: set[str] = set()
    for chunk in [ids[i : i + 500] for i in range(0, len(ids), 500)]:
        for line in await session.scalars(
            select(EnvelopeLine).where(EnvelopeLine.year == year, EnvelopeLine.cpts_id.in_(chunk))
        ):
            if Decimal(line.fixed) + Decimal(line.variable_max) > 0:
                funded.setdefault(line.cpts_id, set()).add(Mission(line.mission))
        counts = await session.execute(
            select(Measurement.cpts_id, Measurement.mission, Measurement.evidence_strength, func.count())
            .where(Measurement.year == year, Measurement.cpts_id.in_(chunk))
            .group_by(Measurement.cpts_id, Measurement.mission, Measurement.evidence_strength)
        )
        for cpts_id, mission, strength, count in counts:
            measured.setdefault(cpts_id, {}).setdefault(Mission(mission), []).extend([Evidence(strength)] * int(count))
        held |= set(
            await session.scalars(select(Dialogue.cpts_id).where(Dialogue.year == year, Dialogue.cpts_id.in_(chunk)))
        )
    rows = [
        Activity(
            cpts,
            activity.assess(
                funded=funded.get(cpts.cpts_id, set()),
                measured=measured.get(cpts.cpts_id, {}),
                signed_on=cpts.aci_signed_on,
                year=year,
                dialogue_held=cpts.cpts_id in held,
                as_of=as_of,
            ),
            dialogue_due(cpts.aci_signed_on, year) if cpts.aci_signed_on else None,
        )
        for cpts in everyone
    ]
    return rows[page.offset : page.offset + page.limit], len(rows)
