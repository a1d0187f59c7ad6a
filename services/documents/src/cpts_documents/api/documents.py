"""``/v1/cpts/{id}/documents`` and ``/v1/documents/{id}``: intake, metadata, raw bytes.

An upload is streamed to a staging file while its SHA-256 is computed; nothing is recorded
until the bytes passed the hostile-input checks. The same bytes for the same CPTS, type and
year are the same document (200); anything else is a new document or a new version (201).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import date, timedelta
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from cpts_documents import commands, queries
from cpts_documents.access import ACCESS
from cpts_documents.api import schemas, views
from cpts_documents.domain.fec import Period
from cpts_documents.domain.sniffing import EXTENSIONS, Format, Refused
from cpts_documents.domain.types import DocumentType, Verdict
from cpts_documents.settings import DocumentsSettings
from cpts_documents.storage.blobs import BlobStore
from cpts_kit.app import streamed_upload
from cpts_kit.auth import Principal, current_principal
from cpts_kit.db import session_dependency
from cpts_kit.idempotency import Idempotency, idempotency
from cpts_kit.pagination import Page, PageParams, page_params
from cpts_kit.problems import Problem, field_error, invalid

log = logging.getLogger(__name__)

router = APIRouter(tags=["documents"])

Session = Annotated[AsyncSession, Depends(session_dependency)]
Caller = Annotated[Principal, Depends(current_principal)]
CptsId = Annotated[str, Path(min_length=1, max_length=64, description="CPTS id (from the registry)")]
DocumentId = Annotated[str, Path(min_length=1, max_length=64, description="Document id (UUID)")]

TRUE = {"true", "1", "yes", "oui", "on"}
FALSE = {"false", "0", "no", "non", "off"}

_FIELDS_SCHEMA: dict[str, Any] = {
    "type": {"type": "string", "enum": [t.value for t in DocumentType]},
    "fiscal_year": {"type": "integer", "minimum": 2015, "maximum": 2100},
    "financial_part": {"type": "boolean", "description": "Activity reports: the financial part is included"},
    "period_start": {"type": "string", "format": "date"},
    "period_end": {"type": "string", "format": "date"},
}
UPLOAD_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "Either multipart/form-data (`file` and the fields), or the raw bytes with the fields as "
        "query parameters (`type`, `fiscal_year`...).",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "type", "fiscal_year"],
                    "properties": {"file": {"type": "string", "format": "binary"}, **_FIELDS_SCHEMA},
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _settings(request: Request) -> DocumentsSettings:
    settings: DocumentsSettings = request.app.state.settings
    return settings


def _store(request: Request) -> BlobStore:
    store: BlobStore = request.app.state.blob_store
    return store


def parse_params(values: Mapping[str, str | None], filename: str | None) -> commands.UploadParams:
    """The upload's fields (form fields or query parameters), as a 422 problem if wrong."""
    errors: list[dict[str, str]] = []
    raw_type = (values.get("type") or "").strip()
    doc_type: DocumentType | None = None
    try:
        doc_type = DocumentType(raw_type)
    except ValueError:
        allowed = ", ".join(t.value for t in DocumentType)
        errors.append(field_error("type", f"{raw_type[:40]!r} is not one of {allowed}", "document_type"))
    year = 0
    raw_year = (values.get("fiscal_year") or "").strip()
    if raw_year.isascii() and raw_year.isdigit() and 2015 <= int(raw_year) <= 2100:
        year = int(raw_year)
    else:
        errors.append(field_error("fiscal_year", "a year between 2015 and 2100 is required", "fiscal_year"))
    financial_part: bool | None = None
    raw_part = (values.get("financial_part") or "").strip().lower()
    if raw_part in TRUE:
        financial_part = True
    elif raw_part in FALSE:
        financial_part = False
    elif raw_part:
        errors.append(field_error("financial_part", "true or false", "bool_parsing"))
    if doc_type is DocumentType.ACTIVITY_REPORT and financial_part is None:
        errors.append(
            field_error("financial_part", "say whether the activity report includes its financial part", "required")
        )
    dates: dict[str, date | None] = {}
    for name in ("period_start", "period_end"):
        raw = (values.get(name) or "").strip()
        try:
            dates[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors.append(field_error(name, "a date AAAA-MM-JJ", "date_parsing"))
            dates[name] = None
    if errors:
        fields = ", ".join(e["field"] for e in errors)
        raise Problem(422, f"The upload is invalid ({fields})", type_="/problems/validation-error", errors=errors)
    assert doc_type is not None
    end = dates["period_end"] or date(year, 12, 31)
    start = dates["period_start"] or (
        date(year, 1, 1) if dates["period_end"] is None else _year_before(end) + timedelta(days=1)
    )
    if not (start <= end and (end - start).days <= 731 and end.year == year):
        raise invalid(
            "period_end",
            "the fiscal period ends in the fiscal year, after its start, and lasts at most 24 months",
            "fiscal_period",
        )
    return commands.UploadParams(
        type=doc_type,
        fiscal_year=year,
        period=Period(start, end),
        financial_part=financial_part if doc_type is DocumentType.ACTIVITY_REPORT else None,
        filename=filename,
    )


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


async def _stage(chunks: AsyncIterator[bytes], store: BlobStore, limit: int) -> commands.Staged:
    handle: IO[bytes]
    handle, path = store.staging_file()
    digest = hashlib.sha256()
    size = 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise Problem(
                    413,
                    f"The document is larger than {limit} bytes",
                    type_="/problems/payload-too-large",
                    max_bytes=limit,
                )
            digest.update(chunk)
            handle.write(chunk)
        handle.close()
    except BaseException:
        handle.close()
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise Problem(422, "The document is empty", type_="/problems/empty-document")
    return commands.Staged(path, digest.hexdigest(), size)


async def _upload_chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(1 << 20):
        yield chunk


@router.post(
    "/v1/cpts/{cpts_id}/documents",
    status_code=201,
    response_model=schemas.DocumentView,
    summary="Upload a document (multipart or raw body)",
    openapi_extra=UPLOAD_OPENAPI,
    responses={
        200: {"description": "The same bytes were already received: that document", "model": schemas.DocumentView},
        413: {"description": "Larger than the configured maximum"},
        422: {"description": "Invalid fields, or bytes refused (content mismatch, zip bomb, over-long line...)"},
    },
)
@streamed_upload
async def upload_document(
    cpts_id: CptsId,
    request: Request,
    response: Response,
    session: Session,
    caller: Caller,
    idem: Annotated[Idempotency, Depends(idempotency)],
) -> schemas.DocumentView | JSONResponse:
    settings = _settings(request)
    store = _store(request)
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    ACCESS.require(caller, "document.upload")
    session.expunge(cpts)  # keep its loaded fields, detached
    await session.rollback()  # no transaction stays open while the bytes arrive
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=20) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise invalid("file", "a multipart upload carries the document in the field `file`", "missing")
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            params = parse_params(fields, upload.filename)
            staged = await _stage(_upload_chunks(upload), store, settings.max_document_bytes)
    else:
        params = parse_params(dict(request.query_params), request.query_params.get("filename"))
        staged = await _stage(request.stream(), store, settings.max_document_bytes)
    try:
        return await _receive(session, settings, store, caller, cpts, params, staged, idem, response)
    finally:
        staged.path.unlink(missing_ok=True)


async def _receive(
    session: AsyncSession,
    settings: DocumentsSettings,
    store: BlobStore,
    caller: Principal,
    cpts: Any,
    params: commands.UploadParams,
    staged: commands.Staged,
    idem: Idempotency,
    response: Response,
) -> schemas.DocumentView | JSONResponse:
    if (replay := await idem.replay(session, params.fingerprint(staged.sha256))) is not None:
        return replay
    same = await commands.find_same(session, cpts.id, params, staged.sha256)
    if same is not None:
        body = views.document_view(same).model_dump(mode="json")
        idem.remember(session, 200, body)
        await session.commit()
        return JSONResponse(body, status_code=200, headers={"Location": f"/v1/documents/{same.id}"})
    await session.rollback()
    context = commands.flag_context(cpts, settings)
    try:
        analysis = await asyncio.to_thread(commands.analyse, staged.path, params, settings, context, cpts.siren)
    except Refused as refused:
        raise Problem(
            422,
            refused.message,
            type_=f"/problems/{refused.code.replace('_', '-')}",
            title="Document refused",
            errors=[field_error("file", refused.message, refused.code)],
        ) from refused
    document = None
    try:
        document = await commands.store_document(session, settings, store, caller, cpts, params, staged, analysis)
        view = views.document_view(document)
        idem.remember(session, 201, view.model_dump(mode="json"))
        await session.commit()
    except BaseException:
        await session.rollback()
        if document is not None and document.blob_key:
            await store.delete(document.blob_key)
        raise
    response.headers["Location"] = f"/v1/documents/{document.id}"
    return view


@router.get(
    "/v1/cpts/{cpts_id}/documents",
    response_model=Page[schemas.DocumentView],
    summary="The CPTS's documents, every version",
)
async def list_documents(
    cpts_id: CptsId,
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    type_: Annotated[DocumentType | None, Query(alias="type")] = None,
    fiscal_year: Annotated[int | None, Query(ge=2015, le=2100)] = None,
    current_only: Annotated[bool, Query(description="Only the current version of each type and year")] = False,
    verdict: Verdict | None = None,
) -> Page[schemas.DocumentView]:
    await commands.load_visible_cpts(session, caller, cpts_id)
    ACCESS.require(caller, "document.read")
    filters = queries.DocumentFilters(type_, fiscal_year, current_only, verdict)
    rows, total = await queries.list_documents(session, cpts_id, filters, page)
    return Page(items=[views.document_view(d) for d in rows], total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/v1/documents/{document_id}",
    response_model=schemas.DocumentView,
    summary="A document's metadata and validation report",
)
async def get_document(document_id: DocumentId, session: Session, caller: Caller) -> schemas.DocumentView:
    document, _ = await commands.load_visible_document(session, caller, document_id)
    ACCESS.require(caller, "document.read")
    return views.document_view(document)


@router.get(
    "/v1/documents/{document_id}/content",
    summary="The document's bytes, exactly as received",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def get_content(document_id: DocumentId, request: Request, session: Session, caller: Caller) -> StreamingResponse:
    document, _ = await commands.load_visible_document(session, caller, document_id)
    ACCESS.require(caller, "document.content")
    store = _store(request)
    if not await store.exists(document.blob_key):
        log.error("the bytes of document %s are missing from the store (%s)", document.id, document.blob_key)
        raise Problem(500, "The stored bytes of this document cannot be found; the operators were told")
    extension = EXTENSIONS.get(Format(document.format), "bin")
    name = f"{document.doc_type}-{document.fiscal_year}-v{document.version}.{extension}"
    digest = base64.b64encode(bytes.fromhex(document.sha256)).decode()
    headers = {
        "Content-Length": str(document.size),
        "Content-Disposition": f'attachment; filename="{name}"',
        "ETag": f'"{document.sha256}"',
        "Repr-Digest": f"sha-256=:{digest}:",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    }
    return StreamingResponse(store.read(document.blob_key), media_type=document.media_type, headers=headers)
