"""Shaping answers: the use cases return tables' rows and their own results; the routers turn
them into the public schemas here."""

from __future__ import annotations

from cpts_documents import queries
from cpts_documents.api import schemas
from cpts_documents.domain import completeness as rules
from cpts_documents.domain.types import DocumentType, Verdict
from cpts_documents.events.payloads import AccountsSummary, SpendingByMission
from cpts_documents.storage.models import Document


def document_view(document: Document) -> schemas.DocumentView:
    return schemas.DocumentView(
        id=document.id,
        cpts_id=document.cpts_id,
        type=DocumentType(document.doc_type),
        fiscal_year=document.fiscal_year,
        version=document.version,
        is_current=document.is_current,
        replaces=document.replaces_id,
        superseded_at=document.superseded_at,
        sha256=document.sha256,
        size=document.size,
        media_type=document.media_type,
        format=document.format,
        original_filename=document.original_filename,
        financial_part=document.financial_part,
        period_start=document.period_start,
        period_end=document.period_end,
        received_at=document.received_at,
        uploaded_by_role=document.uploaded_role,
        validation=schemas.Validation.model_validate(document.validation),
        stats=document.stats,
        links=schemas.DocumentLinks(
            self=f"/v1/documents/{document.id}", content=f"/v1/documents/{document.id}/content"
        ),
    )


def requirement_view(requirements: rules.RequirementSet, default: bool) -> schemas.RequirementSetView:
    return schemas.RequirementSetView(
        fiscal_year=requirements.fiscal_year,
        deadline=requirements.deadline,
        applies_to=requirements.applies_to,
        items=[
            schemas.RequirementIn(
                code=i.code, label=i.label, accepted_types=list(i.accepted_types), deadline=i.deadline
            )
            for i in requirements.items
        ],
        default=default,
    )


def accounts_view(current: queries.CurrentSummary, cpts_id: str, year: int) -> schemas.AccountsView:
    document = current.document
    return schemas.AccountsView(
        cpts_id=cpts_id,
        fiscal_year=year,
        document_id=document.id,
        period_start=document.period_start,
        period_end=document.period_end,
        verdict=Verdict(document.verdict),
        summary=AccountsSummary.model_validate(current.summary),
    )


def spending_view(current: queries.CurrentSummary, cpts_id: str, year: int) -> schemas.SpendingView:
    return schemas.SpendingView(
        cpts_id=cpts_id,
        fiscal_year=year,
        document_id=current.document.id,
        spending=SpendingByMission.model_validate(current.summary),
    )


def completeness_view(standing: queries.Standing) -> schemas.CompletenessView:
    cpts = standing.cpts
    return schemas.CompletenessView(
        cpts_id=cpts.id,
        name=cpts.name,
        region=cpts.region,
        departement=cpts.departement,
        fiscal_year=standing.fiscal_year,
        status=standing.status,
        items=[
            schemas.CompletenessItem(
                requirement=s.requirement.code,
                label=s.requirement.label,
                accepted_types=list(s.requirement.accepted_types),
                deadline=s.deadline,
                status=s.status,
                overdue=s.overdue,
                document_id=s.document.document_id if s.document else None,
                received_at=s.document.received_at if s.document else None,
                received_after_deadline=s.received_after_deadline,
                reason=s.reason,
            )
            for s in standing.items
        ],
    )
