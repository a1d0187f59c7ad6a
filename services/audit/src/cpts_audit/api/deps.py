"""Dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_audit.settings import AuditSettings
from cpts_kit.auth import Principal, current_principal
from cpts_kit.db import session_dependency
from cpts_kit.problems import PROBLEM_JSON

Session = Annotated[AsyncSession, Depends(session_dependency)]
Caller = Annotated[Principal, Depends(current_principal)]
CptsId = Annotated[str, Path(min_length=1, max_length=64, description="CPTS id (from the registry)")]
FindingId = Annotated[str, Path(min_length=1, max_length=64, description="Finding id")]

INSEE_REGION = r"^\d{2}$"
INSEE_DEPARTEMENT = r"^(\d{2}|2A|2B|97\d)$"


def settings_of(request: Request) -> AuditSettings:
    settings: AuditSettings = request.app.state.settings
    return settings


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problem+json answers."""
    descriptions = {
        401: "Missing or invalid bearer token",
        403: "The caller's role may not do this",
        404: "Unknown, or outside the caller's territory",
        409: "Not allowed from the finding's current status",
        412: "If-Match names an older ETag: the finding changed since it was read",
        422: "Invalid parameters or body",
        503: "The broker is not reachable",
    }
    return {
        s: {"description": descriptions[s], "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}} for s in statuses
    }


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
        "allowed_transitions": {"type": "array", "items": {"type": "string"}},
    },
}
