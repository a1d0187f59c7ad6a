"""``/v1/cpts/{id}/measurements``: measured values with their evidence."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from cpts_indicators import commands, queries
from cpts_indicators.access import ACCESS
from cpts_indicators.api import schemas
from cpts_indicators.api.deps import Caller, CptsId, Session, problems, settings_of
from cpts_indicators.domain.catalogue import Evidence
from cpts_indicators.storage.models import Measurement
from cpts_kit.idempotency import Idempotency, idempotency
from cpts_kit.missions import Mission
from cpts_kit.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1/cpts", tags=["measurements"])


def view(row: Measurement) -> schemas.MeasurementView:
    return schemas.MeasurementView(
        measurement_id=row.measurement_id,
        cpts_id=row.cpts_id,
        year=row.year,
        indicator=row.indicator,
        mission=Mission(row.mission),
        period_start=row.period_start,
        period_end=row.period_end,
        value=row.value,
        source=row.source,
        evidence=schemas.EvidenceBody(
            strength=Evidence(row.evidence_strength),
            documents=row.documents,
            extract=schemas.ExtractBody.model_validate(row.extract) if row.extract else None,
            declaration=row.declaration,
        ),
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


@router.post(
    "/{cpts_id}/measurements",
    response_model=schemas.MeasurementView,
    status_code=status.HTTP_201_CREATED,
    summary="Record a measurement with its evidence",
    responses=problems(403, 404, 409, 413),
)
async def record(
    cpts_id: CptsId,
    body: schemas.MeasurementBody,
    request: Request,
    response: Response,
    session: Session,
    caller: Caller,
    idem: Annotated[Idempotency, Depends(idempotency)],
) -> schemas.MeasurementView | JSONResponse:
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    ACCESS.require(caller, "measurement.record")
    if (replay := await idem.replay(session, body.model_dump(mode="json"))) is not None:
        return replay
    given = commands.MeasurementInput(
        indicator=body.indicator,
        year=body.year,
        period_start=body.period_start,
        period_end=body.period_end,
        value=body.value,
        source=body.source,
        strength=body.evidence.strength,
        documents=body.evidence.documents,
        extract=body.evidence.extract.model_dump(mode="json") if body.evidence.extract else None,
        declaration=body.evidence.declaration,
    )
    row = await commands.record_measurement(session, settings_of(request), caller, cpts, given)
    answer = view(row)
    idem.remember(session, 201, answer.model_dump(mode="json"))
    await session.commit()
    response.headers["Location"] = f"/v1/cpts/{cpts_id}/measurements/{row.measurement_id}"
    return answer


@router.get(
    "/{cpts_id}/measurements",
    response_model=Page[schemas.MeasurementView],
    summary="The measurements of a CPTS",
    responses=problems(403, 404),
)
async def list_measurements(
    cpts_id: CptsId,
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    year: Annotated[int | None, Query(ge=2019, le=2100)] = None,
    indicator: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_.]{1,79}$")] = None,
) -> Page[schemas.MeasurementView]:
    ACCESS.require(caller, "measurement.read")
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    rows, total = await queries.list_measurements(session, cpts, year, indicator, page)
    return Page(items=[view(r) for r in rows], total=total, limit=page.limit, offset=page.offset)
