"""The documents service's use cases. Writes change state and enqueue their events in the
caller's transaction (the transactional outbox); the caller commits. The analysis of the bytes
(sniffing, hostile checks, FEC validation and summary) is plain, synchronous Python run in a
worker thread, outside any database transaction."""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_documents.domain import completeness as rules
from cpts_documents.domain.fec import FecValidator, FileIdentity, Period, names_a_fec
from cpts_documents.domain.flags import BoardMember, FlagContext
from cpts_documents.domain.report import Report
from cpts_documents.domain.sniffing import Limits, Sniffed, inspect
from cpts_documents.domain.spending import validate_spending
from cpts_documents.domain.summary import summariser_for
from cpts_documents.domain.types import VERSIONED, DocumentType, Verdict
from cpts_documents.events import payloads
from cpts_documents.queries import current_documents, held, requirements_for, standing
from cpts_documents.settings import DocumentsSettings
from cpts_documents.storage.blobs import BlobStore
from cpts_documents.storage.models import CptsProjection, Document, OverdueNotice
from cpts_kit.auth import Principal
from cpts_kit.db import utcnow
from cpts_kit.outbox import enqueue
from cpts_kit.problems import not_found

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UploadParams:
    type: DocumentType
    fiscal_year: int
    period: Period
    financial_part: bool | None
    filename: str | None

    def fingerprint(self, sha256: str) -> dict[str, Any]:
        """What makes two uploads the same request (for the Idempotency-Key)."""
        return {
            "sha256": sha256,
            "type": self.type.value,
            "fiscal_year": self.fiscal_year,
            "period": [self.period.start.isoformat(), self.period.end.isoformat()],
            "financial_part": self.financial_part,
        }


@dataclass(frozen=True)
class Staged:
    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class Analysis:
    sniffed: Sniffed
    report: Report
    stats: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    spending: dict[str, Any] | None = None


def limits_of(settings: DocumentsSettings) -> Limits:
    return Limits(
        max_line_bytes=settings.max_line_bytes,
        max_zip_members=settings.max_zip_members,
        max_uncompressed_bytes=settings.max_uncompressed_bytes,
        max_compression_ratio=settings.max_compression_ratio,
    )


def flag_context(cpts: CptsProjection, settings: DocumentsSettings) -> FlagContext:
    board = tuple(
        BoardMember(str(m.get("name", "")), str(m.get("profession", ""))) for m in (cpts.board or []) if m.get("name")
    )
    return FlagContext(board=board, large_payment_threshold=settings.large_payment_threshold)


def fec_file_name(filename: str | None, zip_member: str | None) -> str | None:
    """The name to check against ``SIRENFECAAAAMMJJ``: the upload's, or the zipped file's when
    the archive's own name does not follow the pattern."""
    if zip_member and not (filename and names_a_fec(filename)):
        return zip_member
    return filename


def analyse(
    path: Path, params: UploadParams, settings: DocumentsSettings, context: FlagContext, siren: str | None = None
) -> Analysis:
    """Sniff, check and (FEC, spending statement) validate the staged bytes. Raises
    :class:`~cpts_documents.domain.sniffing.Refused` for what may not be kept. ``siren`` is the
    CPTS's SIREN (from the registry), checked against the FEC's file name."""
    with path.open("rb") as handle:
        sniffed = inspect(handle, params.type, limits_of(settings))
        if params.type is DocumentType.FEC:
            period = params.period
            summariser = summariser_for(period.start, period.end, context, max_flags=settings.max_flagged_entries)
            identity = FileIdentity(fec_file_name(params.filename, sniffed.zip_member), siren)
            validator = FecValidator(period, sink=summariser, max_listed=settings.max_listed_issues, identity=identity)
            if sniffed.zip_member is not None:
                with zipfile.ZipFile(handle) as archive, archive.open(sniffed.zip_member) as inner:
                    report = validator.run(inner)
            else:
                report = validator.run(handle)
            summary = None
            if report.verdict is not Verdict.REJECTED:
                summary = payloads.AccountsSummary.model_validate(summariser.result()).model_dump(mode="json")
            return Analysis(sniffed, report, validator.stats.as_dict(), summary=summary)
        if params.type is DocumentType.SPENDING_STATEMENT:
            result = validate_spending(handle, max_listed=settings.max_listed_issues)
            spending = None
            if result.report.verdict is not Verdict.REJECTED:
                spending = payloads.SpendingByMission.model_validate(result.as_dict()).model_dump(mode="json")
            return Analysis(sniffed, result.report, spending=spending)
    report = Report()
    report.finish()
    return Analysis(sniffed, report)


def sanitise_filename(name: str | None) -> str | None:
    """The client's file name as metadata: its last path part, printable, at most 255 chars."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|*?:').strip(" .")
    return clean[:255] or None


def where(cpts: CptsProjection) -> dict[str, str]:
    return {"cpts_id": cpts.id, "region": cpts.region, "departement": cpts.departement}


async def load_visible_cpts(session: AsyncSession, principal: Principal, cpts_id: str) -> CptsProjection:
    """The CPTS if the projection knows it and the caller's territory holds it; 404 otherwise."""
    cpts = await session.get(CptsProjection, cpts_id)
    if cpts is None or not principal.sees(region=cpts.region, departement=cpts.departement, cpts_id=cpts.id):
        raise not_found("CPTS", cpts_id)
    return cpts


async def load_visible_document(
    session: AsyncSession, principal: Principal, document_id: str
) -> tuple[Document, CptsProjection]:
    document = await session.get(Document, document_id)
    cpts = await session.get(CptsProjection, document.cpts_id) if document is not None else None
    if (
        document is None
        or cpts is None
        or not principal.sees(region=cpts.region, departement=cpts.departement, cpts_id=cpts.id)
    ):
        raise not_found("Document", document_id)
    return document, cpts


async def find_same(session: AsyncSession, cpts_id: str, params: UploadParams, sha256: str) -> Document | None:
    """The same bytes for the same CPTS, type and year: the same document."""
    return await session.scalar(
        select(Document).where(
            Document.cpts_id == cpts_id,
            Document.doc_type == params.type.value,
            Document.fiscal_year == params.fiscal_year,
            Document.sha256 == sha256,
        )
    )


async def store_document(
    session: AsyncSession,
    settings: DocumentsSettings,
    store: BlobStore,
    principal: Principal,
    cpts: CptsProjection,
    params: UploadParams,
    staged: Staged,
    analysis: Analysis,
) -> Document:
    """Record the document (a new version if one exists for the type and year), move its bytes
    into the store and enqueue its events. The caller commits, and deletes the blob if the
    commit fails."""
    version = 1 + int(
        await session.scalar(
            select(func.coalesce(func.max(Document.version), 0)).where(
                Document.cpts_id == cpts.id,
                Document.doc_type == params.type.value,
                Document.fiscal_year == params.fiscal_year,
            )
        )
        or 0
    )
    now = utcnow()
    previous = None
    if params.type in VERSIONED:
        previous = await session.scalar(
            select(Document.id).where(
                Document.cpts_id == cpts.id,
                Document.doc_type == params.type.value,
                Document.fiscal_year == params.fiscal_year,
                Document.is_current.is_(True),
            )
        )
        if previous is not None:
            await session.execute(
                update(Document).where(Document.id == previous).values(is_current=False, superseded_at=now)
            )
    report = analysis.report
    document = Document(
        cpts_id=cpts.id,
        doc_type=params.type.value,
        fiscal_year=params.fiscal_year,
        version=version,
        is_current=True,
        replaces_id=previous,
        sha256=staged.sha256,
        size=staged.size,
        format=analysis.sniffed.format.value,
        media_type=analysis.sniffed.media_type,
        original_filename=sanitise_filename(params.filename),
        financial_part=params.financial_part,
        period_start=params.period.start if params.type is DocumentType.FEC else None,
        period_end=params.period.end if params.type is DocumentType.FEC else None,
        verdict=report.verdict.value,
        error_count=report.error_count,
        warning_count=report.warning_count,
        validation=report.as_dict(),
        stats=analysis.stats,
        summary=analysis.summary or analysis.spending,
        blob_key="",
        uploaded_by=principal.subject,
        uploaded_role=principal.role.value,
        received_at=now,
    )
    session.add(document)
    await session.flush()
    document.blob_key = f"{params.fiscal_year}/{document.id}"
    await session.flush()
    common = {
        **where(cpts),
        "document_id": document.id,
        "type": params.type,
        "fiscal_year": params.fiscal_year,
        "version": version,
    }
    enqueue(
        session,
        settings,
        cpts.id,
        payloads.DocumentReceived(
            **common,
            replaces=previous,
            sha256=staged.sha256,
            size=staged.size,
            media_type=document.media_type,
            financial_part=params.financial_part,
            verdict=report.verdict,
            error_count=report.error_count,
            warning_count=report.warning_count,
            received_at=now,
        ),
    )
    if report.verdict is Verdict.REJECTED:
        errors = [payloads.Issue(**issue.as_dict()) for issue in report.errors[:100]]
        enqueue(
            session,
            settings,
            cpts.id,
            payloads.DocumentRejected(**common, error_count=report.error_count, errors=errors),
        )
    if analysis.summary is not None:
        enqueue(
            session,
            settings,
            cpts.id,
            payloads.AccountsSummarised(
                **where(cpts),
                document_id=document.id,
                fiscal_year=params.fiscal_year,
                period_start=params.period.start,
                period_end=params.period.end,
                summary=payloads.AccountsSummary.model_validate(analysis.summary),
            ),
        )
    if analysis.spending is not None:
        enqueue(
            session,
            settings,
            cpts.id,
            payloads.SpendingStatementReceived(
                **where(cpts),
                document_id=document.id,
                fiscal_year=params.fiscal_year,
                spending=payloads.SpendingByMission.model_validate(analysis.spending),
            ),
        )
    await store.put(document.blob_key, staged.path, sha256=staged.sha256, size=staged.size)
    return document


async def check_overdue(session: AsyncSession, settings: DocumentsSettings, today: date) -> tuple[list[int], int]:
    """Enqueue one ``document.overdue`` event per CPTS, fiscal year and requirement whose
    deadline passed without an acceptable document, unless one was already sent. Idempotent:
    a second run sends nothing new. The caller commits."""
    years = list(range(settings.overdue_first_year, today.year + 1))
    sent = 0
    projections = list(await session.scalars(select(CptsProjection).order_by(CptsProjection.id)))
    for year in years:
        requirements = await requirements_for(session, year)
        if all(today <= requirements.deadline_of(item) for item in requirements.items):
            continue
        documents = await current_documents(session, year, [p.id for p in projections])
        notified = {
            (cpts_id, code)
            for cpts_id, code in await session.execute(
                select(OverdueNotice.cpts_id, OverdueNotice.requirement).where(OverdueNotice.fiscal_year == year)
            )
        }
        for cpts in projections:
            if not rules.owes(standing(cpts), requirements):
                continue
            for state in rules.evaluate(requirements, held(documents.get(cpts.id, [])), today):
                code = state.requirement.code
                if not state.overdue or (cpts.id, code) in notified:
                    continue
                event = enqueue(
                    session,
                    settings,
                    cpts.id,
                    payloads.DocumentOverdue(
                        **where(cpts),
                        fiscal_year=year,
                        requirement=code,
                        label=state.requirement.label,
                        accepted_types=list(state.requirement.accepted_types),
                        deadline=state.deadline,
                        status=state.status,
                        reason=state.reason,
                        as_of=today,
                    ),
                )
                session.add(
                    OverdueNotice(
                        cpts_id=cpts.id,
                        fiscal_year=year,
                        requirement=code,
                        status=state.status.value,
                        deadline=state.deadline,
                        event_id=event.id,
                    )
                )
                sent += 1
    await session.flush()
    return years, sent
