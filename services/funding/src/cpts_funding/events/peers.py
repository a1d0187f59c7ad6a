"""What the funding service projects from the other services' events (tolerant readers after
``contracts/events/``; the funding service never imports their code):

- ``fr.cpts.documents.spending_statement.received.v1``: actual spending per mission, the
  ``spent`` of the steering analytics (the latest statement of a CPTS-year replaces the last);
- ``fr.cpts.indicators.achievement.computed.v1``: once ``validated`` (by both the ARS and the
  CPAM in the dialogue de gestion), each mission's ``rate`` drives the variable part earned.
  A mission whose rate an administrator overrode (``PUT /v1/cpts/{id}/achievements/{year}``)
  keeps the override; the envelope's new state is published as ``envelope.computed``.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_funding.events import build
from cpts_funding.storage.inputs import load_inputs
from cpts_funding.storage.models import Achievement, RegistryCpts, Spending
from cpts_kit.events import CloudEvent
from cpts_kit.inbox import Handler
from cpts_kit.missions import CONVENTIONAL, Mission
from cpts_kit.money import parse_decimal
from cpts_kit.outbox import enqueue
from cpts_kit.settings import ServiceSettings

log = logging.getLogger(__name__)

DOCUMENTS_TOPIC, DOCUMENTS_GROUP = "cpts.documents.events", "funding.documents"
INDICATORS_TOPIC, INDICATORS_GROUP = "cpts.indicators.events", "funding.indicators"
SPENDING_STATEMENT = "fr.cpts.documents.spending_statement.received.v1"
ACHIEVEMENT_COMPUTED = "fr.cpts.indicators.achievement.computed.v1"
FROM_INDICATORS = "indicators"


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SpendingData(_Tolerant):
    by_mission: dict[str, str]


class SpendingStatement(_Tolerant):
    document_id: str
    cpts_id: str
    fiscal_year: int
    spending: SpendingData


class MissionRate(_Tolerant):
    mission: str
    rate: str


class AchievementComputed(_Tolerant):
    cpts_id: str
    year: int
    catalogue_version: str
    validated: bool
    missions: list[MissionRate]


async def apply_spending(session: AsyncSession, event: CloudEvent) -> None:
    if event.type != SPENDING_STATEMENT:
        return
    statement = SpendingStatement.model_validate(event.data)
    await session.execute(
        delete(Spending).where(Spending.cpts_id == statement.cpts_id, Spending.fiscal_year == statement.fiscal_year)
    )
    for mission, amount in statement.spending.by_mission.items():
        session.add(
            Spending(
                cpts_id=statement.cpts_id,
                fiscal_year=statement.fiscal_year,
                mission=Mission(mission).value,
                amount=parse_decimal(amount, places=2, what="amount", example="100.00"),
                document_id=statement.document_id,
            )
        )
    await session.flush()


def achievement_handler(settings: ServiceSettings) -> Handler:
    async def apply_achievement(session: AsyncSession, event: CloudEvent) -> None:
        if event.type != ACHIEVEMENT_COMPUTED:
            return
        computed = AchievementComputed.model_validate(event.data)
        if not computed.validated:
            return  # only a rate validated in the dialogue de gestion is paid
        overridden = set(
            (
                await session.scalars(
                    select(Achievement.mission).where(
                        Achievement.cpts_id == computed.cpts_id,
                        Achievement.year == computed.year,
                        Achievement.source != FROM_INDICATORS,
                    )
                )
            ).all()
        )
        for item in computed.missions:
            mission = Mission(item.mission)
            if mission not in CONVENTIONAL or mission.value in overridden:
                continue
            rate = parse_decimal(item.rate, places=4, what="rate", example="0.7500")
            if not (Decimal(0) <= rate <= Decimal(1)):
                raise ValueError(f"achievement rate out of range: {item.rate}")
            row = await session.get(Achievement, (computed.cpts_id, computed.year, mission.value))
            if row is None:
                row = Achievement(cpts_id=computed.cpts_id, year=computed.year, mission=mission.value, rate=rate)
                session.add(row)
            row.rate, row.source = rate, FROM_INDICATORS
            row.recorded_by = f"indicators:{computed.catalogue_version}"
        await session.flush()
        cpts = await session.get(RegistryCpts, computed.cpts_id)
        if cpts is None:
            return
        envelope = (await load_inputs(session, [computed.year], [cpts.cpts_id])).envelope(cpts, computed.year)
        if envelope is not None and envelope.eligible:
            enqueue(session, settings, cpts.cpts_id, build.envelope_event(envelope, cpts))

    return apply_achievement
