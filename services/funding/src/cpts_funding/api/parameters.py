"""``/v1/parameters``: versioned ACI parameters and the per-year policy levers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from cpts_funding import commands, queries
from cpts_funding.access import ACCESS
from cpts_funding.api import schemas, shaping
from cpts_funding.api.deps import Caller, Session, YearPath, settings_of
from cpts_funding.domain.levers import PolicyLevers, ReductionStep
from cpts_funding.domain.parameters import AciParameters, MissionAmounts, TierAmounts, in_force
from cpts_funding.storage.inputs import parameter_versions
from cpts_kit.missions import Mission
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
    ACCESS.require(caller, "parameters.read")
    versions = await parameter_versions(session)
    if year is not None:
        chosen = in_force(versions, year)
        versions = [chosen] if chosen else []
    items = [shaping.aci_version_view(v) for v in versions]
    return Page(items=items, total=len(items), limit=max(len(items), 1), offset=0)


@router.get("/aci/{version}", response_model=schemas.AciVersionView, summary="One ACI parameter version")
async def get_aci_version(version: VersionPath, session: Session, caller: Caller) -> schemas.AciVersionView:
    ACCESS.require(caller, "parameters.read")
    for found in await parameter_versions(session):
        if found.version == version:
            return shaping.aci_version_view(found)
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
    ACCESS.require(caller, "parameters.load")
    parameters, created = await commands.put_aci_version(session, caller, parameters_from_body(version, body))
    await session.commit()
    view = shaping.aci_version_view(parameters)
    if not created:
        return JSONResponse(view.model_dump(mode="json"), status_code=200)
    response.headers["Location"] = f"/v1/parameters/aci/{version}"
    return view


@router.get("/policy/{year}", response_model=schemas.PolicyView, summary="Policy levers of a year")
async def get_policy(year: YearPath, session: Session, caller: Caller) -> schemas.PolicyView:
    """The current levers of the year, their version, whether the year is closed, and every
    earlier version with its author and reason."""
    ACCESS.require(caller, "parameters.read")
    return shaping.policy_view(year, await queries.policy_of(session, year))


@router.put(
    "/policy/{year}",
    response_model=schemas.PolicyView,
    summary="Version the policy levers of a year",
    responses={409: {"description": "A closed year: ACI money of that year was already paid"}},
)
async def put_policy(
    year: YearPath, body: schemas.PolicyIn, request: Request, session: Session, caller: Caller
) -> schemas.PolicyView:
    """Progressive reduction of functioning credits with maturity, a larger variable share,
    fungibility between missions within a national cap. Each change is a new version with its
    author and reason, published as ``policy.versioned``; a closed year answers 409."""
    ACCESS.require(caller, "policy.set")
    await commands.put_policy(session, settings_of(request), caller, levers_from_body(year, body), body.reason)
    view = shaping.policy_view(year, await queries.policy_of(session, year))
    await session.commit()
    return view


def levers_from_body(year: int, body: schemas.PolicyIn | schemas.LeversIn) -> PolicyLevers:
    return PolicyLevers(
        year=year,
        functioning_reduction=tuple(ReductionStep(s.from_maturity, s.reduction) for s in body.functioning_reduction),
        variable_share=body.variable_share,
        fungibility_share=getattr(body, "fungibility_share", None),
        fungibility_national_cap=getattr(body, "fungibility_national_cap", None),
    )


def parameters_from_body(version: str, body: schemas.AciVersionIn) -> AciParameters:
    return AciParameters(
        version=version,
        label=body.label,
        effective_from=body.effective_from,
        illustrative=body.illustrative,
        source=body.source,
        advance_share=body.advance_share,
        crisis_update_share=body.crisis_update_share,
        tiers=tuple(
            TierAmounts(
                tier=t.tier,
                min_population=t.min_population,
                functioning=t.functioning,
                snp_compensation=t.snp_compensation,
                missions={Mission(m.value): MissionAmounts(a.fixed, a.variable) for m, a in t.missions.items()},
                startup_functioning=t.startup_functioning,
                intention_letter_lump_sum=t.intention_letter_lump_sum,
            )
            for t in body.tiers
        ),
    )
