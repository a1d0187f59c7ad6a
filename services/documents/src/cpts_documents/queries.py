"""Read side of the documents service: lists, summaries and completeness, always scoped to
the caller's territory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_documents.domain import completeness as rules
from cpts_documents.domain.types import DocumentType, Verdict
from cpts_documents.storage.models import CptsProjection, Document, RequirementSetRow
from cpts_kit.auth import Principal
from cpts_kit.pagination import PageParams
from cpts_kit.problems import Problem


def scope(principal: Principal) -> ColumnElement[bool]:
    return principal.scope_clause(
        region=CptsProjection.region, departement=CptsProjection.departement, cpts_id=CptsProjection.id
    )


@dataclass(frozen=True)
class DocumentFilters:
    type: DocumentType | None = None
    fiscal_year: int | None = None
    current_only: bool = False
    verdict: Verdict | None = None


async def list_documents(
    session: AsyncSession, cpts_id: str, filters: DocumentFilters, page: PageParams
) -> tuple[Sequence[Document], int]:
    conditions = [Document.cpts_id == cpts_id]
    if filters.type:
        conditions.append(Document.doc_type == filters.type.value)
    if filters.fiscal_year:
        conditions.append(Document.fiscal_year == filters.fiscal_year)
    if filters.current_only:
        conditions.append(Document.is_current.is_(True))
    if filters.verdict:
        conditions.append(Document.verdict == filters.verdict.value)
    total = await session.scalar(select(func.count()).select_from(Document).where(*conditions))
    rows = await session.scalars(
        select(Document)
        .where(*conditions)
        .order_by(Document.fiscal_year.desc(), Document.doc_type, Document.version.desc(), Document.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return rows.all(), int(total or 0)


async def current_of(session: AsyncSession, cpts_id: str, doc_type: DocumentType, year: int) -> Document | None:
    return await session.scalar(
        select(Document)
        .where(
            Document.cpts_id == cpts_id,
            Document.doc_type == doc_type.value,
            Document.fiscal_year == year,
            Document.is_current.is_(True),
        )
        .order_by(Document.version.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class CurrentSummary:
    """The current, accepted document of a type and year, and what it says."""

    document: Document
    summary: dict[str, Any]


async def accounts_of(session: AsyncSession, cpts_id: str, year: int) -> CurrentSummary:
    document = await current_of(session, cpts_id, DocumentType.FEC, year)
    if document is None or document.summary is None:
        why = (
            f"the current FEC for {year} was rejected ({document.error_count} errors)"
            if document is not None
            else f"no FEC was received for {year}"
        )
        raise Problem(404, f"No accounting summary: {why}", type_="/problems/no-accounts")
    return CurrentSummary(document, document.summary)


async def spending_of(session: AsyncSession, cpts_id: str, year: int) -> CurrentSummary:
    document = await current_of(session, cpts_id, DocumentType.SPENDING_STATEMENT, year)
    if document is None or document.summary is None:
        why = "it was rejected" if document is not None else "none was received"
        raise Problem(404, f"No spending statement for {year}: {why}", type_="/problems/no-spending-statement")
    return CurrentSummary(document, document.summary)


# -- completeness ---------------------------------------------------------------------------------


def requirement_set_of(row: RequirementSetRow) -> rules.RequirementSet:
    return rules.RequirementSet(
        fiscal_year=row.fiscal_year,
        deadline=row.deadline,
        applies_to=rules.AppliesTo(row.applies_to),
        items=tuple(
            rules.Requirement(
                code=item["code"],
                label=item["label"],
                accepted_types=tuple(DocumentType(t) for t in item["accepted_types"]),
                deadline=date.fromisoformat(item["deadline"]) if item.get("deadline") else None,
            )
            for item in row.items
        ),
    )


async def requirements_for(session: AsyncSession, year: int) -> rules.RequirementSet:
    row = await session.get(RequirementSetRow, year)
    return requirement_set_of(row) if row is not None else rules.default_requirements(year)


async def current_documents(session: AsyncSession, year: int, cpts_ids: Sequence[str]) -> dict[str, list[Document]]:
    """The current documents of the year, by CPTS (metadata only: no summary is loaded)."""
    out: dict[str, list[Document]] = {}
    if not cpts_ids:
        return out
    query = select(Document).where(Document.fiscal_year == year, Document.is_current.is_(True))
    if len(cpts_ids) <= 500:
        query = query.where(Document.cpts_id.in_(list(cpts_ids)))
    wanted = set(cpts_ids)
    for document in await session.scalars(query):
        if document.cpts_id in wanted:
            out.setdefault(document.cpts_id, []).append(document)
    return out


def held(documents: Sequence[Document]) -> list[rules.HeldDocument]:
    return [
        rules.HeldDocument(
            document_id=d.id,
            type=DocumentType(d.doc_type),
            verdict=Verdict(d.verdict),
            financial_part=d.financial_part,
            received_at=d.received_at,
            error_count=d.error_count,
        )
        for d in documents
    ]


def standing(cpts: CptsProjection) -> rules.CptsStanding:
    return rules.CptsStanding(
        status=cpts.status or "", status_since=cpts.status_since, aci_signed_on=cpts.aci_signed_on
    )


@dataclass(frozen=True)
class Standing:
    """Where one CPTS stands with the documents it owes for a year."""

    cpts: CptsProjection
    fiscal_year: int
    status: rules.OverallStatus
    items: list[rules.ItemState]


def standing_of(
    cpts: CptsProjection, requirements: rules.RequirementSet, documents: Sequence[Document], today: date
) -> Standing:
    states = rules.evaluate(requirements, held(documents), today)
    return Standing(cpts, requirements.fiscal_year, rules.overall(states), list(states))


@dataclass(frozen=True)
class CompletenessFilters:
    year: int
    region: str | None = None
    departement: str | None = None
    status: rules.OverallStatus | None = None


async def completeness(
    session: AsyncSession, principal: Principal, filters: CompletenessFilters, page: PageParams, today: date
) -> tuple[list[Standing], int]:
    """Every CPTS the caller may see that owes documents for the year, computed on read (the
    nation holds about a thousand CPTS), filtered by status, then paged."""
    conditions = [scope(principal)]
    if filters.region:
        conditions.append(CptsProjection.region == filters.region)
    if filters.departement:
        conditions.append(CptsProjection.departement == filters.departement)
    projections = list(
        await session.scalars(
            select(CptsProjection).where(*conditions).order_by(CptsProjection.name, CptsProjection.id)
        )
    )
    requirements = await requirements_for(session, filters.year)
    owing = [p for p in projections if rules.owes(standing(p), requirements)]
    documents = await current_documents(session, filters.year, [p.id for p in owing])
    views = [standing_of(p, requirements, documents.get(p.id, []), today) for p in owing]
    if filters.status:
        views = [v for v in views if v.status is filters.status]
    return views[page.offset : page.offset + page.limit], len(views)
