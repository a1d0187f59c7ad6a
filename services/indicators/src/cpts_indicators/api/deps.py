"""Dependencies shared by the routers, and the problem answers each endpoint declares."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_kit.auth import Principal, current_principal
from cpts_kit.db import session_dependency
from cpts_kit.problems import PROBLEM_JSON
from cpts_kit.settings import ServiceSettings

Session = Annotated[AsyncSession, Depends(session_dependency)]
Caller = Annotated[Principal, Depends(current_principal)]
CptsId = Annotated[str, Path(min_length=1, max_length=64, description="CPTS id (from the registry)")]
YearPath = Annotated[int, Path(ge=2019, le=2100, description="Calendar year of the contract's results")]

INSEE_REGION = r"^\d{2}$"

_DESCRIPTIONS = {
    401: "Missing or invalid bearer token",
    403: "The caller's role may not do this",
    404: "Unknown, or outside the caller's territory",
    409: "Conflicts with the current state (frozen year, existing version or dialogue...)",
    413: "Request body too large",
    422: "Invalid input (field-level errors)",
}


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details (see the repository README, Errors)",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "location": {"type": "string"},
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an endpoint: each status as an RFC 9457 problem."""
    schema = PROBLEM_SCHEMA
    return {
        status: {"description": _DESCRIPTIONS[status], "content": {PROBLEM_JSON: {"schema": schema}}}
        for status in (401, 422, *statuses)
    }


def settings_of(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings
