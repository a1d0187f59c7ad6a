"""``/v1/cpts``: identity, lifecycle, territory, members and governance of each CPTS."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from cpts_kit.auth import Principal, current_principal
from cpts_kit.db import app_database, reader_dependency, session_dependency
from cpts_kit.idempotency import Idempotency, idempotency
from cpts_kit.pagination import Page, PageParams, page_params
from cpts_kit.problems import Problem, field_error, invalid
from cpts_kit.readcache import JsonAnswer, ReadCache, read_cache
from cpts_kit.settings import ServiceSettings
from cpts_registry import commands, queries
from cpts_registry.access import ACCESS, SELF_SERVICE_FIELDS
from cpts_registry.api import schemas, views
from cpts_registry.domain.lifecycle import Status
from cpts_registry.domain.tiers import SizeTier

router = APIRouter(prefix="/v1/cpts", tags=["cpts"])

Session = Annotated[AsyncSession, Depends(session_dependency)]
Reader = Annotated[AsyncConnection, Depends(reader_dependency)]
Caller = Annotated[Principal, Depends(current_principal)]
# Hot reads answer from the read cache (kept until this process writes, at most
# CPTS_READ_CACHE_SECONDS for other replicas' writes) and open a connection only on a miss.
Cache = Annotated[ReadCache, Depends(read_cache)]
CptsId = Annotated[str, Path(min_length=1, max_length=64, description="CPTS id (UUID)")]
Year = Annotated[int, Path(ge=2019, le=2100, description="Reporting year")]
IDENTITY_FIELDS_ROUTE = "through the ARS or the CPAM of the CPTS"


def _settings(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


def _etag(version: int) -> str:
    return f'"{version}"'


def _check_if_match(if_match: str | None, version: int) -> None:
    if if_match is not None and if_match.strip() not in (_etag(version), "*"):
        raise Problem(
            412,
            f"The CPTS changed since you read it (current ETag {_etag(version)})",
            type_="/problems/precondition-failed",
            title="Precondition failed",
        )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=schemas.CptsDetail, summary="Register a CPTS")
async def register_cpts(
    body: schemas.CptsCreate,
    request: Request,
    response: Response,
    session: Session,
    caller: Caller,
    idem: Annotated[Idempotency, Depends(idempotency)],
) -> schemas.CptsDetail | JSONResponse:
    ACCESS.require(caller, "cpts.register")
    commands.authorise_place(caller, body.region, body.departement)  # before any replay
    if (replay := await idem.replay(session, body.model_dump(mode="json"))) is not None:
        return replay
    registration = commands.Registration(**body.model_dump(exclude={"legal_form"}), legal_form=body.legal_form.value)
    cpts = await commands.register(session, _settings(request), caller, registration, date.today())
    view = views.stored_detail(cpts, date.today())
    idem.remember(session, 201, view.model_dump(mode="json"))
    await session.commit()
    response.headers["Location"] = f"/v1/cpts/{cpts.id}"
    response.headers["ETag"] = _etag(cpts.version)
    return view


@router.get("", response_model=Page[schemas.CptsSummary], summary="List the CPTS the caller may see")
async def list_cpts(
    request: Request,
    caller: Caller,
    cache: Cache,
    page: Annotated[PageParams, Depends(page_params)],
    region: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    departement: Annotated[str | None, Query(pattern=r"^(\d{2}|2A|2B|97\d)$")] = None,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    size_tier: SizeTier | None = None,
    siren: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
    name: Annotated[str | None, Query(min_length=1, max_length=200, description="Part of the name")] = None,
) -> Response:
    ACCESS.require(caller, "cpts.read")
    filters = queries.CptsFilters(region, departement, status_, size_tier, siren, name)
    today = date.today()

    async def answer() -> JsonAnswer:
        async with app_database(request).reader_engine.connect() as reader:
            rows, total = await queries.list_cpts(reader, caller, filters, page)
        items = [views.summary(c, today) for c in rows]
        listed = Page[schemas.CptsSummary](items=items, total=total, limit=page.limit, offset=page.offset)
        return JsonAnswer(listed.model_dump_json().encode())

    key = ("cpts-list", caller.scope_key, filters, page.limit, page.offset, today)
    return (await cache.get(key, answer)).response()


@router.get("/{cpts_id}", response_model=schemas.CptsDetail, summary="One CPTS with its territory and status history")
async def get_cpts(cpts_id: CptsId, request: Request, caller: Caller, cache: Cache) -> Response:
    ACCESS.require(caller, "cpts.read")
    today = date.today()

    async def answer() -> JsonAnswer:
        async with app_database(request).reader_engine.connect() as reader:
            found = await queries.get_cpts(reader, caller, cpts_id)
        detail = views.detail(found, today).model_dump_json().encode()
        return JsonAnswer(detail, (("ETag", _etag(found.cpts.version)),))

    return (await cache.get(("cpts-detail", cpts_id, caller.scope_key, today), answer)).response()


@router.patch("/{cpts_id}", response_model=schemas.CptsDetail, summary="Change identity attributes")
async def patch_cpts(
    cpts_id: CptsId,
    body: schemas.CptsPatch,
    request: Request,
    response: Response,
    session: Session,
    caller: Caller,
    if_match: Annotated[str | None, Header(description="ETag from a GET, to refuse lost updates")] = None,
) -> schemas.CptsDetail:
    cpts = await commands.load_visible(session, caller, cpts_id, full=True)
    changes = body.model_dump(exclude_unset=True)
    _authorise_patch(caller, changes)
    _check_if_match(if_match, cpts.version)
    plain = {k: (v.value if isinstance(v, schemas.LegalForm) else v) for k, v in changes.items()}
    await commands.patch(session, _settings(request), cpts, plain)
    await session.commit()
    response.headers["ETag"] = _etag(cpts.version)
    return views.stored_detail(cpts, date.today())


def _authorise_patch(caller: Principal, changes: dict[str, object]) -> None:
    """The name is the CPTS's own; its identifiers and legal form are the authorities' (a 403
    naming the fields the caller may not change)."""
    ACCESS.require(caller, "cpts.update:name")
    identity = sorted(set(changes) - SELF_SERVICE_FIELDS)
    if identity and not ACCESS.allows(caller.role, "cpts.update:identity"):
        raise Problem(
            403,
            f"The role {caller.role.value} may not change {', '.join(identity)}: these change {IDENTITY_FIELDS_ROUTE}",
            type_="/problems/forbidden",
            errors=[field_error(name, f"changes {IDENTITY_FIELDS_ROUTE}", "forbidden_field") for name in identity],
            fields=identity,
        )


@router.post("/{cpts_id}/transitions", response_model=schemas.CptsDetail, summary="Move the CPTS along its lifecycle")
async def transition_cpts(
    cpts_id: CptsId,
    body: schemas.TransitionRequest,
    request: Request,
    session: Session,
    caller: Caller,
    idem: Annotated[Idempotency, Depends(idempotency)],
) -> schemas.CptsDetail | JSONResponse:
    cpts = await commands.load_visible(session, caller, cpts_id, full=True)
    # No transition leads back to the intention letter: the authorities learn so from the 409 below.
    if f"lifecycle:{body.to.value}" in ACCESS:
        ACCESS.require(caller, f"lifecycle:{body.to.value}")
    else:
        ACCESS.require(caller, "lifecycle:dissolved")
    if (replay := await idem.replay(session, body.model_dump(mode="json"))) is not None:
        return replay
    change = commands.Transition(body.to, body.effective_date, body.reason)
    await commands.transition(session, _settings(request), caller, cpts, change, date.today())
    await session.refresh(cpts, ["history"])
    view = views.stored_detail(cpts, date.today())
    idem.remember(session, 200, view.model_dump(mode="json"))
    await session.commit()
    return view


@router.get("/{cpts_id}/territory", response_model=schemas.TerritoryView, summary="The communes of the CPTS")
async def get_territory(cpts_id: CptsId, reader: Reader, caller: Caller) -> schemas.TerritoryView:
    ACCESS.require(caller, "cpts.read")
    found = await queries.get_cpts(reader, caller, cpts_id)
    return schemas.TerritoryView(
        cpts_id=found.cpts.id,
        communes=found.communes,
        population=found.cpts.population,
        size_tier=SizeTier(found.cpts.size_tier),
    )


@router.put("/{cpts_id}/territory", response_model=schemas.TerritoryView, summary="Replace the territory")
async def put_territory(
    cpts_id: CptsId, body: schemas.TerritoryRequest, request: Request, session: Session, caller: Caller
) -> schemas.TerritoryView:
    cpts = await commands.load_visible(session, caller, cpts_id)
    ACCESS.require(caller, "territory.set")
    territory = await commands.set_territory(session, _settings(request), cpts, body.communes)
    await session.commit()
    return schemas.TerritoryView(
        cpts_id=cpts.id, communes=territory.communes, population=territory.population, size_tier=territory.tier
    )


@router.get("/{cpts_id}/members", response_model=list[schemas.MembersView], summary="Members by profession, every year")
async def get_members(cpts_id: CptsId, session: Session, caller: Caller) -> list[schemas.MembersView]:
    ACCESS.require(caller, "cpts.read")
    cpts = await commands.load_visible(session, caller, cpts_id)
    return [views.members(m) for m in await commands.members_of(session, cpts)]


@router.get("/{cpts_id}/members/{year}", response_model=schemas.MembersView, summary="Members by profession for a year")
async def get_members_year(cpts_id: CptsId, year: Year, session: Session, caller: Caller) -> schemas.MembersView:
    ACCESS.require(caller, "cpts.read")
    cpts = await commands.load_visible(session, caller, cpts_id)
    found = await commands.members_of(session, cpts, year)
    if not found:
        raise Problem(404, f"No members reported for {year}", type_="/problems/not-found")
    return views.members(found[0])


@router.put("/{cpts_id}/members/{year}", response_model=schemas.MembersView, summary="Report members for a year")
async def put_members(
    cpts_id: CptsId, year: Year, body: schemas.MembersRequest, request: Request, session: Session, caller: Caller
) -> schemas.MembersView:
    cpts = await commands.load_visible(session, caller, cpts_id)
    ACCESS.require(caller, "members.report")
    if year > date.today().year:
        raise invalid("year", "in the future", "future_year", location="path", detail=f"{year} is a future year")
    counts = {profession.value: n for profession, n in body.counts.items()}
    found = await commands.report_members(session, _settings(request), cpts, year, counts)
    await session.commit()
    return views.members(found)


@router.get("/{cpts_id}/governance", response_model=schemas.GovernanceView, summary="Board members")
async def get_governance(cpts_id: CptsId, session: Session, caller: Caller) -> schemas.GovernanceView:
    ACCESS.require(caller, "cpts.read")
    cpts = await commands.load_visible(session, caller, cpts_id)
    return views.governance(await commands.governance_of(session, cpts))


@router.put("/{cpts_id}/governance", response_model=schemas.GovernanceView, summary="Replace the board")
async def put_governance(
    cpts_id: CptsId, body: schemas.GovernanceRequest, request: Request, session: Session, caller: Caller
) -> schemas.GovernanceView:
    cpts = await commands.load_visible(session, caller, cpts_id)
    ACCESS.require(caller, "governance.set")
    seats = [commands.BoardSeat(m.name, m.role.value, m.profession.value) for m in body.board]
    found = await commands.set_governance(session, _settings(request), cpts, seats)
    await session.commit()
    return views.governance(found)
