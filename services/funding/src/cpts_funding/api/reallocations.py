"""``/v1/reallocations``: fungibility requests between missions, accepted or refused with the reason."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from cpts_funding import commands, queries
from cpts_funding.access import ACCESS
from cpts_funding.api import schemas, shaping
from cpts_funding.api.deps import Caller, ResourceId, Session, settings_of
from cpts_kit.idempotency import Idempotency, idempotency
from cpts_kit.missions import Mission
from cpts_kit.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1/reallocations", tags=["reallocations"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ReallocationView,
    summary="Ask to move envelope between missions",
)
async def request_reallocation(
    body: schemas.ReallocationCreate,
    request: Request,
    response: Response,
    session: Session,
    caller: Caller,
    idem: Annotated[Idempotency, Depends(idempotency)],
) -> schemas.ReallocationView | JSONResponse:
    """The request is decided at once against the year's levers (fungibility share of the
    CPTS's mission envelope, national cap) and recorded either way, with the reason."""
    ACCESS.require(caller, "reallocation.request")
    if (replay := await idem.replay(session, body.model_dump(mode="json"))) is not None:
        return replay
    ask = commands.NewReallocation(
        body.cpts_id, body.year, Mission(body.from_mission.value), Mission(body.to_mission.value), body.amount
    )
    row, _ = await commands.request_reallocation(session, settings_of(request), caller, ask)
    view = shaping.reallocation_view(row)
    idem.remember(session, 201, view.model_dump(mode="json"))
    await session.commit()
    response.headers["Location"] = f"/v1/reallocations/{row.id}"
    return view


@router.get("", response_model=Page[schemas.ReallocationView], summary="List reallocation requests")
async def list_reallocations(
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    cpts_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    year: Annotated[int | None, Query(ge=2019, le=2100)] = None,
) -> Page[schemas.ReallocationView]:
    ACCESS.require(caller, "reallocation.read")
    rows, total = await queries.list_reallocations(session, caller, page, cpts_id, year)
    return Page(items=[shaping.reallocation_view(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/{reallocation_id}", response_model=schemas.ReallocationView, summary="One reallocation request")
async def get_reallocation(reallocation_id: ResourceId, session: Session, caller: Caller) -> schemas.ReallocationView:
    ACCESS.require(caller, "reallocation.read")
    return shaping.reallocation_view(await queries.get_reallocation(session, caller, reallocation_id))
