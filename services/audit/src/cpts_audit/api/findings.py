"""Findings: list, read, and the workflow (PATCH with a reason)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from cpts_audit import commands, queries
from cpts_audit.access import ACCESS
from cpts_audit.api import schemas
from cpts_audit.api.deps import INSEE_DEPARTEMENT, INSEE_REGION, Caller, FindingId, Session, problems, settings_of
from cpts_audit.domain.findings import Severity, Status, allowed_transitions
from cpts_audit.storage.models import Finding, FindingTransition
from cpts_kit.pagination import Page, PageParams, page_params
from cpts_kit.problems import Problem

router = APIRouter(tags=["findings"])

# Every change of a finding (facts or workflow) bumps its revision: the ETag a controller's
# PATCH sends back in If-Match, so that two controllers cannot overwrite each other's step.
WITH_ETAG: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"ETag": {"description": "The finding's revision", "schema": {"type": "string"}}}}
}


def etag(finding: Finding) -> str:
    return f'"{finding.revision}"'


def check_if_match(if_match: str | None, finding: Finding) -> None:
    if if_match is not None and if_match.strip() not in (etag(finding), "*"):
        raise Problem(
            412,
            f"The finding changed since you read it (current ETag {etag(finding)})",
            type_="/problems/precondition-failed",
            title="Precondition failed",
        )


def view(finding: Finding, history: list[FindingTransition] | None = None) -> schemas.FindingView:
    return schemas.FindingView(
        id=finding.id,
        rule=finding.rule,
        cpts_id=finding.cpts_id,
        region=finding.region,
        departement=finding.departement,
        fiscal_year=finding.fiscal_year,
        severity=Severity(finding.severity),
        amount=finding.amount,
        explanation=finding.explanation,
        evidence=[schemas.EvidenceView.model_validate(e) for e in finding.evidence],
        status=Status(finding.status),
        parameters_version=finding.parameters_version,
        first_seen=finding.first_seen,
        updated_at=finding.updated_at,
        allowed_transitions=[Status(s) for s in allowed_transitions(Status(finding.status))],
        history=None
        if history is None
        else [
            schemas.TransitionView(
                from_status=Status(t.from_status),
                to_status=Status(t.to_status),
                author=t.author,
                role=t.role,
                reason=t.reason,
                by_audit=t.by_audit,
                at=t.at,
            )
            for t in history
        ],
    )


def finding_filters(
    cpts: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    region: Annotated[str | None, Query(pattern=INSEE_REGION)] = None,
    departement: Annotated[str | None, Query(pattern=INSEE_DEPARTEMENT)] = None,
    rule: Annotated[str | None, Query(min_length=1, max_length=60)] = None,
    severity: Severity | None = None,
    status: Status | None = None,
    year: Annotated[int | None, Query(ge=2015, le=2100)] = None,
) -> queries.FindingFilters:
    return queries.FindingFilters(
        cpts, region, departement, rule, severity.value if severity else None, status.value if status else None, year
    )


Filters = Annotated[queries.FindingFilters, Depends(finding_filters)]


@router.get(
    "/v1/findings",
    response_model=Page[schemas.FindingView],
    summary="Findings in the caller's territory",
    responses=problems(401, 403, 422),
)
async def list_findings(
    session: Session, caller: Caller, filters: Filters, page: Annotated[PageParams, Depends(page_params)]
) -> Page[schemas.FindingView]:
    ACCESS.require(caller, "finding.read")
    rows, total = await queries.list_findings(session, caller, filters, page)
    return Page(items=[view(f) for f in rows], total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/v1/findings/summary",
    response_model=schemas.SummaryView,
    summary="Counts and amounts of findings by rule, severity and status (aggregates)",
    responses=problems(401, 403, 422),
)
async def findings_summary(session: Session, caller: Caller, filters: Filters) -> schemas.SummaryView:
    ACCESS.require(caller, "finding.summary")
    rows = await queries.summary(session, caller, filters)
    items = [
        schemas.SummaryRow(rule=r, severity=Severity(s), status=Status(st), count=n, amount=a)
        for r, s, st, n, a in rows
    ]
    return schemas.SummaryView(items=items, total=sum(i.count for i in items))


@router.get(
    "/v1/findings/{finding_id}",
    response_model=schemas.FindingView,
    summary="A finding with its evidence and its history",
    responses={**WITH_ETAG, **problems(401, 403, 404)},
)
async def get_finding(
    finding_id: FindingId, session: Session, caller: Caller, response: Response
) -> schemas.FindingView:
    ACCESS.require(caller, "finding.read")
    finding = await queries.get_finding(session, caller, finding_id)
    response.headers["ETag"] = etag(finding)
    return view(finding, await queries.history(session, finding.id))


@router.patch(
    "/v1/findings/{finding_id}",
    response_model=schemas.FindingView,
    summary="Move a finding in its workflow: open → acknowledged → resolved or dismissed (a reason is required)",
    responses={**WITH_ETAG, **problems(401, 403, 404, 409, 412, 422)},
)
async def patch_finding(
    finding_id: FindingId,
    body: schemas.FindingPatch,
    request: Request,
    response: Response,
    session: Session,
    caller: Caller,
    if_match: Annotated[str | None, Header(description="ETag from a GET, to refuse lost updates")] = None,
) -> schemas.FindingView:
    ACCESS.require(caller, "finding.update")
    finding = await queries.get_finding(session, caller, finding_id)
    check_if_match(if_match, finding)
    await commands.change_status(session, settings_of(request), caller, finding, body.status, body.reason.strip())
    await session.commit()
    response.headers["ETag"] = etag(finding)
    return view(finding, await queries.history(session, finding.id))
