"""``/v1/analytics`` and ``/v1/reports``: who pays what, where; theoretical vs paid; steering
analytics; overlaps."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from cpts_funding import aggregates, commands, steering
from cpts_funding.access import ACCESS
from cpts_funding.api import schemas, shaping
from cpts_funding.api.deps import INSEE_DEPARTEMENT, INSEE_REGION, Caller, Session
from cpts_funding.domain.categories import FunderCategory
from cpts_funding.settings import FundingSettings
from cpts_funding.storage.models import RegistryCpts
from cpts_kit.auth import Role
from cpts_kit.db import app_database
from cpts_kit.pagination import Page, PageParams, page_params
from cpts_kit.problems import Problem, field_error
from cpts_kit.readcache import JsonAnswer, ReadCache, read_cache

router = APIRouter(prefix="/v1", tags=["analytics"])

Region = Annotated[str | None, Query(pattern=INSEE_REGION, description="INSEE region code")]
Departement = Annotated[str | None, Query(pattern=INSEE_DEPARTEMENT, description="INSEE département code")]
CptsFilter = Annotated[str | None, Query(min_length=1, max_length=64, description="One CPTS")]
Year = Annotated[int | None, Query(ge=2019, le=2100)]


async def territory(
    session: Session, caller: Caller, region: Region = None, departement: Departement = None, cpts: CptsFilter = None
) -> aggregates.Where:
    row = await commands.load_visible_cpts(session, caller, cpts) if cpts is not None else None
    if row is None and caller.role is Role.CPTS and caller.cpts_id and region is None and departement is None:
        row = await session.get(RegistryCpts, caller.cpts_id)  # a CPTS sees itself: name the scope
    return aggregates.resolve_territory(caller, region=region, departement=departement, cpts=row)


Territory = Annotated[aggregates.Where, Depends(territory)]


@router.get("/analytics/funding", response_model=schemas.FundingAnalytics, summary="Funding totals and breakdowns")
async def funding_analytics(
    caller: Caller,
    where: Territory,
    cache: Annotated[ReadCache, Depends(read_cache)],
    request: Request,
    year: Year = None,
    year_from: Year = None,
    year_to: Year = None,
    funder_category: FunderCategory | None = None,
) -> Response:
    """For the nation (national roles), a region, a département or a CPTS, and a fiscal year or
    a range (default: 2019 to this year): money paid (net of recoveries) by funder category,
    mission, part and year; CPTS funded; per capita; ACI envelopes against ACI money paid.
    Kept until the service's next write (at most a minute for other replicas' writes)."""
    ACCESS.require(caller, "analytics.read")
    years = aggregates.years_of(year, year_from, year_to, date.today())

    async def compute() -> JsonAnswer:
        async with app_database(request).reader() as session:  # opened on a miss only
            found = await aggregates.funding_analytics(session, caller, where, years, funder_category)
        return JsonAnswer(shaping.funding_analytics_view(found).model_dump_json().encode())

    # The answer depends on the caller's territory (not on who they are), the one asked for,
    # the years, the category and today (the default range ends this year).
    key = ("funding-analytics", caller.scope_key, where.scope, tuple(years), funder_category, date.today())
    settings: FundingSettings = request.app.state.settings
    return (await cache.get(key, compute, seconds=settings.analytics_cache_seconds)).response()


@router.get(
    "/reports/aci-fir-overlaps",
    response_model=Page[schemas.OverlapView],
    summary="Mission-years financed by both the ACI and the FIR",
)
async def aci_fir_overlaps(
    session: Session,
    caller: Caller,
    where: Territory,
    page: Annotated[PageParams, Depends(page_params)],
    year: Year = None,
    year_from: Year = None,
    year_to: Year = None,
) -> Page[schemas.OverlapView]:
    """FIR and ACI are kept apart (Senate proposal P1): each CPTS mission-year with both ACI
    and FIR money (allocated or paid) dated on or after the ACI signature is listed (FIR
    start-up grants before the signature are the intended sequence, not an overlap)."""
    ACCESS.require(caller, "overlaps.read")
    years = aggregates.years_of(year, year_from, year_to, date.today())
    items = [shaping.overlap_view(o) for o in await aggregates.overlap_report(session, caller, where, years)]
    return Page(
        items=items[page.offset : page.offset + page.limit], total=len(items), limit=page.limit, offset=page.offset
    )


@router.get(
    "/analytics/steering",
    response_model=schemas.SteeringView,
    summary="Theoretical, maximum, allocated, paid and spent, grouped",
    responses={422: {"description": "Bad group_by (one or two distinct dimensions)"}},
)
async def steering_analytics(
    session: Session,
    caller: Caller,
    where: Territory,
    year: Annotated[int, Query(ge=2019, le=2100)],
    group_by: Annotated[
        list[steering.Dimension],
        Query(description="One or two of region, departement, cpts, mission, funder_category, size_tier"),
    ],
    basis: steering.Basis = steering.Basis.FISCAL_YEAR,
) -> schemas.SteeringView:
    """Senate proposals P2 and P5, for the caller's territory (or a region, département or CPTS
    in it): per group, CPTS counted, population, the ACI theoretical and maximum envelopes,
    money allocated and paid by every funder, money spent (spending statements), and paid per
    inhabitant. ``basis=payment_date`` counts flows by the calendar year of their date."""
    ACCESS.require(caller, "analytics.read")
    if not 1 <= len(group_by) <= 2 or len(set(group_by)) != len(group_by):
        raise Problem(
            422,
            "group_by takes one or two distinct dimensions",
            type_="/problems/validation-error",
            errors=[field_error("group_by", "one or two distinct dimensions", "bad_group_by", location="query")],
        )
    result = await steering.steering(session, caller, where, year, group_by, basis)
    return shaping.steering_view(where.scope, result)
