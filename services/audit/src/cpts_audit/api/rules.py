"""The rules and their versioned parameters; the replay."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import func, select

from cpts_audit import commands
from cpts_audit.access import ACCESS
from cpts_audit.api import schemas
from cpts_audit.api.deps import Caller, Session, problems, settings_of
from cpts_audit.domain.rules import all_rules
from cpts_audit.events.replay import read_from_start
from cpts_audit.storage.models import Finding
from cpts_kit.problems import Problem

router = APIRouter(tags=["rules"])


@router.get("/v1/rules", response_model=list[schemas.RuleView], summary="The audit rules", responses=problems(401, 403))
async def list_rules(caller: Caller) -> list[schemas.RuleView]:
    ACCESS.require(caller, "rule.read")
    return [
        schemas.RuleView(
            id=r.id,
            title=r.title,
            rationale=r.rationale,
            parameters=[
                schemas.ParameterVersionView(
                    version=p.version, effective_from=p.effective_from.isoformat(), values=dict(p.values), note=p.note
                )
                for p in r.parameters
            ],
        )
        for r in all_rules()
    ]


@router.post(
    "/v1/replay",
    response_model=schemas.ReplayView,
    summary="Rebuild every projection and finding from the topics, from offset zero (national roles)",
    responses=problems(401, 403, 503),
)
async def replay(request: Request, session: Session, caller: Caller) -> schemas.ReplayView:
    ACCESS.require(caller, "replay")
    settings = settings_of(request)
    try:
        events = await read_from_start(settings)
    except Exception as exc:  # the broker is down or unreachable
        raise Problem(
            503, f"The topics cannot be read: {exc.__class__.__name__}", type_="/problems/broker-unavailable"
        ) from exc
    projected, outcome = await commands.replay(session, settings, events)
    await session.commit()
    total = await session.scalar(select(func.count()).select_from(Finding)) or 0
    return schemas.ReplayView(
        events_read=len(events),
        events_projected=projected,
        findings_raised=outcome.raised,
        findings_updated=outcome.updated,
        findings_closed=outcome.closed,
        findings_unchanged=outcome.unchanged,
        findings_total=int(total),
    )
