"""``/v1/parameters``: versioned ACI parameters and the per-year policy levers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse

from cpts_funding import commands, queries, views
from cpts_funding.api import schemas
from cpts_funding.api.deps import ADMINISTRATORS, Caller, Session, YearPath
from cpts_funding.domain.parameters import in_force
from cpts_funding.storage.inputs import parameter_versions
from cpts_kit.pagination import Page
from cpts_kit.problems import not_found

router = APIRouter(prefix="/v1/parameters", tags=["parameters"])

VersionPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$", description="Version id")]


@router.get("/aci", response_model=Page[schemas.AciVersionView], summary="ACI parameter versions")
async def list_aci_versions(
    session: Session,
    caller: Caller,
    year: Annotated[int | None, Query(ge=2019, le=2100, description="Only the version in force that year")] = None,
) -> Page[schemas.AciVersionView]:
    """The shipped illustrative versions (``illustrative: true``, ``builtin: true``) and those
    loaded by administrators, in load order."""
    versions = await parameter_versions(session)
    if year is not None:
        chosen = in_force(versions, year)
        versions = [chosen] if chosen else []
    items = [views.aci_version_view(v) for v in versions]
    return Page(items=items, total=len(items), limit=max(len(items), 1), offset=0)


@router.get("/aci/{version}", response_model=schemas.AciVersionView, summary="One ACI parameter version")
async def get_aci_version(version: VersionPath, session: Session, caller: Caller) -> schemas.AciVersionView:
    for found in await parameter_versions(session):
        if found.version == version:
            return views.aci_version_view(found)
    raise not_found("ACI parameter version", version)


@router.put(
    "/aci/{version}",
    response_model=schemas.AciVersionView,
    status_code=201,
    responses={200: {"description": "The same version was already loaded", "model": schemas.AciVersionView}},
    summary="Load a new version (official values)",
)
async def put_aci_version(
    version: VersionPath, body: schemas.AciVersionIn, response: Response, session: Session, caller: Caller
) -> schemas.AciVersionView | JSONResponse:
    """Cnam and DGOS load the official amounts of an ACI text or avenant as a new version with
    its effective date. A version never changes: the same body again answers 200, another
    body 409."""
    caller.require(*ADMINISTRATORS)
    parameters, created = await commands.put_aci_version(session, caller, version, body)
    await session.commit()
    view = views.aci_version_view(parameters)
    if not created:
        return JSONResponse(view.model_dump(mode="json"), status_code=200)
    response.headers["Location"] = f"/v1/parameters/aci/{version}"
    return view


@router.get("/policy/{year}", response_model=schemas.PolicyView, summary="Policy levers of a year")
async def get_policy(year: YearPath, session: Session, caller: Caller) -> schemas.PolicyView:
    return await queries.policy_view(session, year)


@router.put("/policy/{year}", response_model=schemas.PolicyView, summary="Set the policy levers of a year")
async def put_policy(year: YearPath, body: schemas.PolicyIn, session: Session, caller: Caller) -> schemas.PolicyView:
    """Progressive reduction of functioning credits with maturity, a larger variable share,
    fungibility between missions within a national cap. Replaces the year's levers."""
    caller.require(*ADMINISTRATORS)
    await commands.put_policy(session, caller, year, body)
    view = await queries.policy_view(session, year)
    await session.commit()
    return view
