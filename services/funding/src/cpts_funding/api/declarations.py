"""``/v1/declarations``: the funding sources each CPTS declares for a fiscal year."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse

from cpts_funding import commands, queries
from cpts_funding.access import ACCESS
from cpts_funding.api import schemas, shaping
from cpts_funding.api.deps import Caller, ResourceId, Session, fields_of, settings_of
from cpts_kit.idempotency import Idempotency, idempotency
from cpts_kit.pagination import Page, PageParams, page_params

router = APIRouter(prefix="/v1/declarations", tags=["declarations"])


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=schemas.DeclarationView, summary="Declare funding sources"
)
async def submit_declaration(
    body: schemas.DeclarationCreate,
    request: Request,
    response: Response,
    session: Session,
    caller: Caller,
    idem: Annotated[Idempotency, Depends(idempotency)],
) -> schemas.DeclarationView | JSONResponse:
    """Every private, pharmaceutical and foundation source names its funder. A new submission
    for the same CPTS and year is a new version; earlier versions are kept."""
    ACCESS.require(caller, "declaration.submit")
    if (replay := await idem.replay(session, body.model_dump(mode="json"))) is not None:
        return replay
    declared = commands.NewDeclaration(
        cpts_id=body.cpts_id,
        fiscal_year=body.fiscal_year,
        sources=[commands.NewSource(**fields_of(source)) for source in body.sources],
        note=body.note,
    )
    declaration, cpts = await commands.submit_declaration(session, settings_of(request), caller, declared)
    view = shaping.declaration_view(declaration, cpts)
    idem.remember(session, 201, view.model_dump(mode="json"))
    await session.commit()
    response.headers["Location"] = f"/v1/declarations/{declaration.id}"
    return view


@router.get("", response_model=Page[schemas.DeclarationView], summary="List declarations")
async def list_declarations(
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    cpts_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    fiscal_year: Annotated[int | None, Query(ge=2019, le=2100)] = None,
    latest: Annotated[bool, Query(description="Only the latest version of each CPTS-year")] = False,
) -> Page[schemas.DeclarationView]:
    ACCESS.require(caller, "declaration.read")
    rows, total = await queries.list_declarations(session, caller, page, cpts_id, fiscal_year, latest)
    return Page(
        items=[shaping.declaration_view(d, c) for d, c in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get("/{declaration_id}", response_model=schemas.DeclarationView, summary="One declaration")
async def get_declaration(declaration_id: ResourceId, session: Session, caller: Caller) -> schemas.DeclarationView:
    ACCESS.require(caller, "declaration.read")
    return shaping.declaration_view(*await queries.get_declaration(session, caller, declaration_id))
