"""The per-mission report: theoretical envelope vs ACI paid vs spent."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from cpts_audit import queries
from cpts_audit.access import ACCESS
from cpts_audit.api import schemas
from cpts_audit.api.deps import INSEE_DEPARTEMENT, INSEE_REGION, Caller, Session, problems

router = APIRouter(tags=["reports"])


def _share(part: Decimal, whole: Decimal) -> str | None:
    return f"{(part / whole).quantize(Decimal('0.0001'))}" if whole else None


@router.get(
    "/v1/reports/missions",
    response_model=schemas.MissionReport,
    summary="Per mission, nationally or for a territory: theoretical envelope, ACI paid, spent",
    responses=problems(401, 403, 422),
)
async def missions_report(
    session: Session,
    caller: Caller,
    year: Annotated[int, Query(ge=2019, le=2100)],
    region: Annotated[str | None, Query(pattern=INSEE_REGION)] = None,
    departement: Annotated[str | None, Query(pattern=INSEE_DEPARTEMENT)] = None,
) -> schemas.MissionReport:
    ACCESS.require(caller, "report.missions")
    lines, enveloped, spenders = await queries.mission_report(session, caller, year, region, departement)
    return schemas.MissionReport(
        year=year,
        region=region,
        departement=departement,
        cpts_with_envelope=enveloped,
        cpts_with_spending_statement=spenders,
        missions=[
            schemas.MissionReportLine(
                mission=line.mission,
                theoretical=line.theoretical,
                aci_paid=line.aci_paid,
                spent=line.spent,
                paid_share_of_theoretical=_share(line.aci_paid, line.theoretical),
                spent_share_of_paid=_share(line.spent, line.aci_paid),
                cpts_with_spending=len(line.cpts_with_spending),
            )
            for line in lines
        ],
    )
