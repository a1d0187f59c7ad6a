"""``/v1/cpts/{id}/targets/{year}``: targets chosen from the catalogue, defaults from the size
tier and maturity, adjustments within bounds and with their reasons."""

from __future__ import annotations

from fastapi import APIRouter, Request

from cpts_indicators import commands
from cpts_indicators.access import ACCESS
from cpts_indicators.api import schemas
from cpts_indicators.api.deps import Caller, CptsId, Session, YearPath, problems, settings_of

router = APIRouter(prefix="/v1/cpts", tags=["targets"])


def view(targets: commands.Targets) -> schemas.TargetsView:
    return schemas.TargetsView(
        cpts_id=targets.cpts.cpts_id,
        year=targets.year,
        catalogue_version=targets.catalogue.version,
        illustrative=targets.catalogue.illustrative,
        size_tier=targets.size_tier,
        maturity=targets.maturity,
        set=targets.is_set,
        set_by=targets.set_by,
        set_at=targets.set_at,
        targets=[
            schemas.TargetView(
                indicator=indicator.code,
                mission=indicator.mission,
                name=indicator.name,
                kind=indicator.kind,
                unit=indicator.unit,
                direction=indicator.direction,
                baseline=None if default.baseline is None else str(default.baseline),
                default=default.shown,
                target=target.shown,
                adjusted=target != default,
                reason=reason,
            )
            for indicator, default, target, reason in targets.rows
        ],
        adjustments=[
            schemas.AdjustmentView(
                indicator=a.indicator,
                default=a.default,
                target=a.target,
                reason=a.reason,
                adjusted_by=a.adjusted_by,
                adjusted_role=a.adjusted_role,
                adjusted_at=a.adjusted_at,
            )
            for a in targets.adjustments
        ],
    )


@router.get(
    "/{cpts_id}/targets/{year}",
    response_model=schemas.TargetsView,
    summary="The year's targets (the defaults while none are set)",
    responses=problems(403, 404, 409),
)
async def get_targets(cpts_id: CptsId, year: YearPath, session: Session, caller: Caller) -> schemas.TargetsView:
    ACCESS.require(caller, "targets.read")
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    return view(await commands.targets_of(session, cpts, year))


@router.put(
    "/{cpts_id}/targets/{year}",
    response_model=schemas.TargetsView,
    summary="Set the year's targets: defaults, or adjusted within bounds with a reason",
    responses=problems(403, 404, 409, 413),
)
async def put_targets(
    cpts_id: CptsId, year: YearPath, body: schemas.TargetsBody, request: Request, session: Session, caller: Caller
) -> schemas.TargetsView:
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    ACCESS.require(caller, "targets.set")
    choices = [commands.TargetChoice(c.indicator, c.target, c.reason) for c in body.indicators]
    targets = await commands.set_targets(session, settings_of(request), caller, cpts, year, choices)
    await session.commit()
    return view(targets)
