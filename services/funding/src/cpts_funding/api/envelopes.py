"""``/v1/cpts/{id}/...``: the ACI envelope of a year, its payment schedule, the contract (missions
and start dates), and an administrator's override of the achievement rates."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from cpts_funding import commands, queries
from cpts_funding.access import ACCESS
from cpts_funding.api import schemas, shaping
from cpts_funding.api.deps import Caller, CptsId, Session, YearPath, settings_of
from cpts_funding.domain.contract import terms
from cpts_kit.missions import Mission

router = APIRouter(prefix="/v1/cpts", tags=["envelopes"])


@router.get(
    "/{cpts_id}/envelopes/{year}", response_model=schemas.EnvelopeView, summary="Theoretical ACI envelope and paid"
)
async def get_envelope(cpts_id: CptsId, year: YearPath, session: Session, caller: Caller) -> schemas.EnvelopeView:
    """Mission by mission: fixed part, variable maximum, variable earned, functioning credits and
    totals, with the parameter version (``illustrative: true`` while the shipped set applies),
    the ACI money actually paid for the year, and whether it is above the maximum."""
    ACCESS.require(caller, "envelope.read")
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    envelope = await commands.envelope_of(session, cpts, year)
    paid = await queries.aci_paid_by_mission(session, cpts.cpts_id, year)
    return shaping.envelope_view(envelope, cpts, paid)


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
    ACCESS.require(caller, "envelope.read")
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    envelope = await commands.envelope_of(session, cpts, year)
    return shaping.schedule_view(await queries.schedule_of(session, envelope, cpts, as_of or date.today()))


@router.get("/{cpts_id}/contract", response_model=schemas.ContractView, summary="The ACI contract's missions")
async def get_contract(cpts_id: CptsId, session: Session, caller: Caller) -> schemas.ContractView:
    """The missions the CPTS took on and their start dates; without a recorded contract, every
    mission is taken to start at the signature (``recorded: false``)."""
    ACCESS.require(caller, "contract.read")
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    rows = await queries.contract_of(session, cpts.cpts_id)
    return shaping.contract_view(cpts, terms(cpts.aci_signed_on, {Mission(r.mission): r.starts_on for r in rows}))


@router.put(
    "/{cpts_id}/contract",
    response_model=schemas.ContractView,
    summary="Record the contract's missions and start dates",
    responses={409: {"description": "The CPTS has not signed the ACI"}},
)
async def put_contract(
    cpts_id: CptsId, body: schemas.ContractIn, session: Session, caller: Caller
) -> schemas.ContractView:
    """Access to care (and the crisis mission) start within 6 months of the signature, care
    pathways and prevention within 12; optional missions only if chosen. Replaces the last."""
    ACCESS.require(caller, "contract.set")
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    starts = {Mission(m.value): d for m, d in body.missions.items()}
    recorded = await commands.set_contract(session, caller, cpts, starts)
    await session.commit()
    return shaping.contract_view(cpts, recorded)


@router.put(
    "/{cpts_id}/achievements/{year}",
    response_model=schemas.EnvelopeView,
    summary="Override indicator achievement (variable part)",
)
async def put_achievements(
    cpts_id: CptsId, year: YearPath, body: schemas.AchievementsIn, request: Request, session: Session, caller: Caller
) -> schemas.EnvelopeView:
    """The indicators service publishes the achievement validated in the dialogue de gestion;
    this is an administrator's override, recorded as such (it wins over later published rates)."""
    ACCESS.require(caller, "achievements.override")
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    rates = {Mission(m.value): r for m, r in body.rates.items()}
    envelope = await commands.record_achievements(session, settings_of(request), caller, cpts, year, rates)
    view = shaping.envelope_view(envelope, cpts, await queries.aci_paid_by_mission(session, cpts.cpts_id, year))
    await session.commit()
    return view
