"""``/v1/funders``: who pays (reference data, readable by every role) and the reference lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from fastapi.responses import JSONResponse

from cpts_funding import commands, queries
from cpts_funding.access import ACCESS
from cpts_funding.api import schemas, shaping
from cpts_funding.api.deps import Caller, ResourceId, Session, fields_of
from cpts_funding.domain import categories
from cpts_kit import missions
from cpts_kit.idempotency import Idempotency, idempotency
from cpts_kit.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1", tags=["funders"])


@router.post("/funders", status_code=status.HTTP_201_CREATED, response_model=schemas.FunderView, summary="Add a funder")
async def create_funder(
    body: schemas.FunderCreate,
    response: Response,
    session: Session,
    caller: Caller,
    idem: Annotated[Idempotency, Depends(idempotency)],
) -> schemas.FunderView | JSONResponse:
    national = body.region is None and body.departement is None
    ACCESS.require(caller, "funder.create:national" if national else "funder.create:territorial")
    if (replay := await idem.replay(session, body.model_dump(mode="json"))) is not None:
        return replay
    funder = await commands.create_funder(session, caller, commands.NewFunder(**fields_of(body)))
    view = shaping.funder_view(funder)
    idem.remember(session, 201, view.model_dump(mode="json"))
    await session.commit()
    response.headers["Location"] = f"/v1/funders/{funder.id}"
    return view


@router.get("/funders", response_model=Page[schemas.FunderView], summary="List the funders")
async def list_funders(
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    category: categories.FunderCategory | None = None,
    name: Annotated[str | None, Query(min_length=1, max_length=200, description="Part of the name")] = None,
    siren: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
) -> Page[schemas.FunderView]:
    ACCESS.require(caller, "funder.read")
    rows, total = await queries.list_funders(session, page, category, name, siren)
    return Page(items=[shaping.funder_view(f) for f in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/funders/{funder_id}", response_model=schemas.FunderView, summary="One funder")
async def get_funder(funder_id: ResourceId, session: Session, caller: Caller) -> schemas.FunderView:
    ACCESS.require(caller, "funder.read")
    return shaping.funder_view(await queries.get_funder(session, funder_id))


@router.get(
    "/funder-categories", response_model=list[schemas.CategoryView], tags=["reference"], summary="Funder categories"
)
async def list_categories(caller: Caller) -> list[schemas.CategoryView]:
    ACCESS.require(caller, "reference.read")
    return [
        schemas.CategoryView(
            code=c,
            label_fr=categories.LABELS_FR[c],
            must_be_named=c in categories.MUST_BE_NAMED,
            local_authority=c in categories.LOCAL_AUTHORITIES,
        )
        for c in categories.FunderCategory
    ]


@router.get("/missions", response_model=list[schemas.MissionView], tags=["reference"], summary="Missions")
async def list_missions(caller: Caller) -> list[schemas.MissionView]:
    ACCESS.require(caller, "reference.read")
    return [
        schemas.MissionView(code=m, label_fr=missions.LABELS_FR[m], conventional=m in missions.CONVENTIONAL)
        for m in missions.Mission
    ]
