"""``/v1/flows``: allocations, payments and recoveries; corrections by reversal."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from cpts_funding import commands, queries
from cpts_funding.access import ACCESS, flow_action
from cpts_funding.api import schemas, shaping
from cpts_funding.api.deps import (
    INSEE_DEPARTEMENT,
    INSEE_REGION,
    Caller,
    Reader,
    ResourceId,
    Session,
    fields_of,
    settings_of,
)
from cpts_funding.domain.categories import FunderCategory
from cpts_funding.domain.flows import FlowKind
from cpts_funding.domain.missions import Part
from cpts_funding.storage.models import Funder
from cpts_kit.db import app_database
from cpts_kit.idempotency import Idempotency, idempotency
from cpts_kit.missions import Mission
from cpts_kit.pagination import Page, PageParams, page_params
from cpts_kit.readcache import JsonAnswer, ReadCache, read_cache

router = APIRouter(prefix="/v1/flows", tags=["flows"])


async def flow_filters(
    cpts_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    funder_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    funder_category: FunderCategory | None = None,
    kind: FlowKind | None = None,
    fiscal_year: Annotated[int | None, Query(ge=2019, le=2100)] = None,
    mission: Mission | None = None,
    part: Part | None = None,
    region: Annotated[str | None, Query(pattern=INSEE_REGION)] = None,
    departement: Annotated[str | None, Query(pattern=INSEE_DEPARTEMENT)] = None,
) -> queries.FlowFilters:
    return queries.FlowFilters(
        cpts_id, funder_id, funder_category, kind, fiscal_year, mission, part, region, departement
    )


Filters = Annotated[queries.FlowFilters, Depends(flow_filters)]


def new_flow(body: schemas.FlowCreate) -> commands.NewFlow:
    return commands.NewFlow(**fields_of(body))


async def require_flow_writer(session: Session, caller: Caller, body: schemas.FlowCreate) -> None:
    """Each payer records its own money: the funder's category names the action (an unknown
    funder is the command's 422)."""
    funder = await session.get(Funder, body.funder_id)
    if funder is not None:
        ACCESS.require(caller, flow_action(funder.category))
    elif not any(ACCESS.allows(caller.role, flow_action(c)) for c in FunderCategory):
        ACCESS.require(caller, flow_action(FunderCategory.ACI))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.FlowView,
    summary="Record an allocation, a payment or a recovery",
    responses={422: {"description": "Invalid, or ACI money for a CPTS that was not aci_signed on the flow's date"}},
)
async def record_flow(
    body: schemas.FlowCreate,
    request: Request,
    response: Response,
    session: Session,
    caller: Caller,
    idem: Annotated[Idempotency, Depends(idempotency)],
) -> schemas.FlowView | JSONResponse:
    """ACI money (allocations and payments) goes only to a CPTS whose registry status is
    `aci_signed` on the flow's date: otherwise a `/problems/aci-signatories-only` problem."""
    await require_flow_writer(session, caller, body)
    if (replay := await idem.replay(session, body.model_dump(mode="json"))) is not None:
        return replay
    flow, _ = await commands.record_flow(session, settings_of(request), caller, new_flow(body), date.today())
    view = shaping.flow_view(await queries.get_flow(await session.connection(), caller, flow.id))
    idem.remember(session, 201, view.model_dump(mode="json"))
    await session.commit()
    response.headers["Location"] = f"/v1/flows/{flow.id}"
    return view


@router.get("", response_model=Page[schemas.FlowView], summary="List the flows the caller may see")
async def list_flows(
    request: Request,
    caller: Caller,
    filters: Filters,
    page: Annotated[PageParams, Depends(page_params)],
    cache: Annotated[ReadCache, Depends(read_cache)],
) -> Response:
    """A page answers from the read cache until this process writes (other replicas' writes:
    CPTS_READ_CACHE_SECONDS at most); a miss opens a reader connection."""
    ACCESS.require(caller, "flow.read")

    async def answer() -> JsonAnswer:
        async with app_database(request).reader_engine.connect() as reader:
            records, total = await queries.list_flows(reader, caller, filters, page, cache)
        items = [shaping.flow_view(r) for r in records]
        listed = Page[schemas.FlowView](items=items, total=total, limit=page.limit, offset=page.offset)
        return JsonAnswer(listed.model_dump_json().encode())

    return (await cache.get(("flows-page", caller.scope_key, filters, page.limit, page.offset), answer)).response()


@router.get("/{flow_id}", response_model=schemas.FlowView, summary="One flow")
async def get_flow(flow_id: ResourceId, reader: Reader, caller: Caller) -> schemas.FlowView:
    ACCESS.require(caller, "flow.read")
    return shaping.flow_view(await queries.get_flow(reader, caller, flow_id))


@router.post(
    "/{flow_id}/reversal",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Correction,
    summary="Correct a flow: its reversal and, optionally, the replacement",
)
async def reverse_flow(
    flow_id: ResourceId,
    body: schemas.ReversalRequest,
    request: Request,
    session: Session,
    caller: Caller,
    idem: Annotated[Idempotency, Depends(idempotency)],
) -> schemas.Correction | JSONResponse:
    """Flows are never edited: the reversal carries the opposite amount, and the replacement
    (if given) is recorded and checked like any new flow, in the same transaction."""
    ACCESS.require(caller, "flow.read")
    original, cpts = await commands.load_visible_flow(session, caller, flow_id)
    ACCESS.require(caller, flow_action(original.funder_category))  # a reversal follows the flow's rule
    if body.replacement is not None:
        await require_flow_writer(session, caller, body.replacement)
    if (replay := await idem.replay(session, body.model_dump(mode="json"))) is not None:
        return replay
    correction = commands.Reversal(
        body.date, body.reason, new_flow(body.replacement) if body.replacement is not None else None
    )
    reversal, replacement = await commands.reverse_flow(
        session, settings_of(request), caller, original, cpts, correction, date.today()
    )
    connection = await session.connection()
    view = schemas.Correction(
        reversal=shaping.flow_view(await queries.get_flow(connection, caller, reversal.id)),
        replacement=shaping.flow_view(await queries.get_flow(connection, caller, replacement.id))
        if replacement
        else None,
    )
    idem.remember(session, 201, view.model_dump(mode="json"))
    await session.commit()
    return view
