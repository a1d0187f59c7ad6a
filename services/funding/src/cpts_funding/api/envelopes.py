"""``/v1/cpts/{id}/...``: the ACI envelope of a year, its payment schedule, and the indicator
achievements that drive the variable part (until an indicators service publishes them)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from cpts_funding import commands, queries
from cpts_funding.api import schemas
from cpts_funding.api.deps import ASSESSORS, Caller, CptsId, Session, YearPath, settings_of

router = APIRouter(prefix="/v1/cpts", tags=["envelopes"])


@router.get(
    "/{cpts_id}/envelopes/{year}", response_model=schemas.EnvelopeView, summary="Theoretical ACI envelope and paid"
)
async def get_envelope(cpts_id: CptsId, year: YearPath, session: Session, caller: Caller) -> schemas.EnvelopeView:
    """Mission by mission: fixed part, variable maximum, variable earned, functioning credits and
    totals, with the parameter version (``illustrative: true`` while the shipped set applies)
    and the ACI money actually paid for the year."""
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    envelope = await commands.envelope_of(session, cpts, year)
    return await queries.envelope_view(session, envelope, cpts)


@router.get(
    "/{cpts_id}/schedules/{year}", response_model=schemas.ScheduleView, summary="When the year's envelope is due"
)
async def get_schedule(
    cpts_id: CptsId,
    year: YearPath,
    session: Session,
    caller: Caller,
    as_of: Annotated[date | None, Query(description="Amounts due by this date (default today)")] = None,
) -> schemas.ScheduleView:
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    envelope = await commands.envelope_of(session, cpts, year)
    return await queries.schedule_view(session, envelope, cpts, as_of or date.today())


@router.put(
    "/{cpts_id}/achievements/{year}",
    response_model=schemas.EnvelopeView,
    summary="Record indicator achievement (variable part)",
)
async def put_achievements(
    cpts_id: CptsId, year: YearPath, body: schemas.AchievementsIn, request: Request, session: Session, caller: Caller
) -> schemas.EnvelopeView:
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    caller.require(*ASSESSORS)
    envelope = await commands.record_achievements(session, settings_of(request), caller, cpts, year, body)
    view = await queries.envelope_view(session, envelope, cpts)
    await session.commit()
    return view
