"""``/v1/analytics/activity``: the "empty shell" signals per CPTS, for the audit."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cpts_indicators import queries
from cpts_indicators.access import ACCESS
from cpts_indicators.api import schemas
from cpts_indicators.api.deps import INSEE_REGION, Caller, Session, problems
from cpts_kit.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])


@router.get(
    "/activity",
    response_model=Page[schemas.ActivityView],
    summary="Per CPTS: missions funded with no measurement, declarative-only share, dialogue missing",
    responses=problems(403),
)
async def activity(
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    year: Annotated[int, Query(ge=2019, le=2100)],
    region: Annotated[str | None, Query(pattern=INSEE_REGION)] = None,
    as_of: Annotated[date | None, Query(description="The day anniversaries are checked at (default today)")] = None,
) -> Page[schemas.ActivityView]:
    ACCESS.require(caller, "analytics.activity")
    rows, total = await queries.activity_list(session, caller, year, as_of or date.today(), region, page)
    return Page(
        items=[
            schemas.ActivityView(
                cpts_id=r.cpts.cpts_id,
                name=r.cpts.name,
                region=r.cpts.region,
                departement=r.cpts.departement,
                year=year,
                dialogue_due_on=r.due_on,
                missions_funded=r.signals.missions_funded,
                missions_funded_without_measurement=r.signals.missions_funded_without_measurement,
                measurements_count=r.signals.measurements_count,
                declarative_share=r.signals.declarative_share,
                dialogue_held=r.signals.dialogue_held,
                dialogue_missing=r.signals.dialogue_missing,
            )
            for r in rows
        ],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )
