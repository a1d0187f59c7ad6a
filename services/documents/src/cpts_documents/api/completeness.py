"""``/v1/completeness`` and ``/v1/requirements/{year}``: what each CPTS owes, by when, and
where it stands; the overdue check."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_documents import commands, queries
from cpts_documents.access import ACCESS
from cpts_documents.api import schemas, views
from cpts_documents.domain.completeness import OverallStatus, owes
from cpts_documents.settings import DocumentsSettings
from cpts_documents.storage.models import RequirementSetRow
from cpts_kit.auth import Principal, current_principal
from cpts_kit.db import session_dependency
from cpts_kit.pagination import Page, PageParams, page_params
from cpts_kit.problems import Problem, invalid

router = APIRouter(tags=["completeness"])

Session = Annotated[AsyncSession, Depends(session_dependency)]
Caller = Annotated[Principal, Depends(current_principal)]
CptsId = Annotated[str, Path(min_length=1, max_length=64, description="CPTS id (from the registry)")]
Year = Annotated[int, Path(ge=2015, le=2100, description="Fiscal year")]
AsOf = Annotated[date | None, Query(description="Evaluate as on this day (default today); for what-if and replays")]


@router.get("/v1/requirements/{year}", response_model=schemas.RequirementSetView, summary="What CPTS owe for a year")
async def get_requirements(year: Year, session: Session, caller: Caller) -> schemas.RequirementSetView:
    ACCESS.require(caller, "requirements.read")
    row = await session.get(RequirementSetRow, year)
    return views.requirement_view(await queries.requirements_for(session, year), default=row is None)


@router.put(
    "/v1/requirements/{year}",
    response_model=schemas.RequirementSetView,
    summary="Set what CPTS owe for a year (national roles)",
)
async def put_requirements(
    year: Year, body: schemas.RequirementSetIn, session: Session, caller: Caller
) -> schemas.RequirementSetView:
    ACCESS.require(caller, "requirements.set")
    codes = [item.code for item in body.items]
    if len(set(codes)) != len(codes):
        raise invalid("items", "each requirement code appears once", "duplicate_code")
    if body.deadline.year <= year - 1:
        raise invalid("deadline", "the deadline falls after the start of the fiscal year", "deadline")
    row = await session.get(RequirementSetRow, year)
    items = [item.model_dump(mode="json") for item in body.items]
    if row is None:
        row = RequirementSetRow(
            fiscal_year=year,
            deadline=body.deadline,
            applies_to=body.applies_to.value,
            items=items,
            updated_by=caller.subject,
        )
        session.add(row)
    else:
        row.deadline = body.deadline
        row.applies_to = body.applies_to.value
        row.items = items
        row.updated_by = caller.subject
    await session.flush()
    view = views.requirement_view(queries.requirement_set_of(row), default=False)
    await session.commit()
    return view


@router.delete(
    "/v1/requirements/{year}",
    response_model=schemas.RequirementSetView,
    summary="Go back to the default requirements for a year (national roles)",
)
async def delete_requirements(year: Year, session: Session, caller: Caller) -> schemas.RequirementSetView:
    ACCESS.require(caller, "requirements.set")
    row = await session.get(RequirementSetRow, year)
    if row is not None:
        await session.delete(row)
        await session.commit()
    return views.requirement_view(await queries.requirements_for(session, year), default=True)


@router.get(
    "/v1/completeness",
    response_model=Page[schemas.CompletenessView],
    summary="Where each CPTS stands with the documents it owes (scoped to the caller)",
)
async def list_completeness(
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    year: Annotated[int | None, Query(ge=2015, le=2100, description="Fiscal year (default: last year)")] = None,
    region: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    departement: Annotated[str | None, Query(pattern=r"^(\d{2}|2A|2B|97\d)$")] = None,
    status: OverallStatus | None = None,
    as_of: AsOf = None,
) -> Page[schemas.CompletenessView]:
    ACCESS.require(caller, "completeness.read")
    today = as_of or date.today()
    filters = queries.CompletenessFilters(year or date.today().year - 1, region, departement, status)
    items, total = await queries.completeness(session, caller, filters, page, today)
    return Page(items=[views.completeness_view(s) for s in items], total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/v1/cpts/{cpts_id}/completeness/{year}",
    response_model=schemas.CompletenessView,
    summary="Where one CPTS stands for a fiscal year",
)
async def get_completeness(
    cpts_id: CptsId, year: Year, session: Session, caller: Caller, as_of: AsOf = None
) -> schemas.CompletenessView:
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    ACCESS.require(caller, "completeness.read")
    requirements = await queries.requirements_for(session, year)
    if not owes(queries.standing(cpts), requirements):
        raise Problem(404, f"CPTS {cpts_id} owes no documents for {year}", type_="/problems/not-owed")
    documents = await queries.current_documents(session, year, [cpts.id])
    return views.completeness_view(
        queries.standing_of(cpts, requirements, documents.get(cpts.id, []), as_of or date.today())
    )


@router.post(
    "/v1/completeness/overdue-check",
    response_model=schemas.OverdueCheckResult,
    summary="Run the overdue check now (national roles); idempotent",
)
async def run_overdue_check(
    request: Request, session: Session, caller: Caller, as_of: AsOf = None
) -> schemas.OverdueCheckResult:
    ACCESS.require(caller, "overdue.check")
    settings: DocumentsSettings = request.app.state.settings
    today = as_of or date.today()
    if today > date.today():
        raise invalid("as_of", "overdue events are facts: not in the future", "future_date", location="query")
    years, sent = await commands.check_overdue(session, settings, today)
    await session.commit()
    return schemas.OverdueCheckResult(as_of=today, years=years, new_overdue_events=sent)
