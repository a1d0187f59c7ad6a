"""Risk scores: one CPTS with its contributions, and the ranking."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cpts_audit import queries
from cpts_audit.access import ACCESS
from cpts_audit.api import schemas
from cpts_audit.api.deps import INSEE_DEPARTEMENT, INSEE_REGION, Caller, CptsId, Session, problems
from cpts_audit.domain import risk
from cpts_kit.pagination import Page, PageParams, page_params

router = APIRouter(tags=["risk"])

WEIGHTS = {
    "severity_points": {s.value: p for s, p in risk.SEVERITY_POINTS.items()},
    "amount_step": str(risk.AMOUNT_STEP),
    "amount_points_max": risk.AMOUNT_POINTS_MAX,
    "counted_statuses": ["open", "acknowledged"],
}


@router.get(
    "/v1/cpts/{cpts_id}/risk",
    response_model=schemas.RiskView,
    summary="A CPTS's risk score, explained by its contributions (rule, finding, points)",
    responses=problems(401, 403, 404),
)
async def cpts_risk(cpts_id: CptsId, session: Session, caller: Caller) -> schemas.RiskView:
    found = await queries.cpts_risk(session, caller, cpts_id)
    ACCESS.require(caller, "risk.read")
    return schemas.RiskView(
        cpts_id=found.cpts_id,
        name=found.name,
        region=found.region,
        departement=found.departement,
        score=found.score,
        open_findings=len(found.contributions),
        weights_version=risk.WEIGHTS_VERSION,
        weights=WEIGHTS,
        contributions=[
            schemas.ContributionView(
                rule=c.rule, finding_id=c.finding_id, severity=c.severity, amount=c.amount, points=c.points
            )
            for c in found.contributions
        ],
    )


@router.get(
    "/v1/risk",
    response_model=Page[schemas.RankedCpts],
    summary="CPTS ranked by risk score (highest first), in the caller's territory",
    responses=problems(401, 403, 422),
)
async def rank(
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    region: Annotated[str | None, Query(pattern=INSEE_REGION)] = None,
    departement: Annotated[str | None, Query(pattern=INSEE_DEPARTEMENT)] = None,
) -> Page[schemas.RankedCpts]:
    ACCESS.require(caller, "risk.rank")
    rows, total = await queries.ranking(session, caller, region, departement, page)
    items = [
        schemas.RankedCpts(
            cpts_id=r.cpts_id,
            name=r.name,
            region=r.region,
            departement=r.departement,
            score=r.score,
            open_findings=r.open_findings,
            updated_at=r.updated_at,
        )
        for r in rows
    ]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
