"""Dependencies and role sets shared by the routers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from cpts_kit.auth import Principal, current_principal
from cpts_kit.db import reader_dependency, session_dependency
from cpts_kit.settings import ServiceSettings

Session = Annotated[AsyncSession, Depends(session_dependency)]
# The hottest reads (a flow, a page of flows): a reader connection, no ORM session.
Reader = Annotated[AsyncConnection, Depends(reader_dependency)]
Caller = Annotated[Principal, Depends(current_principal)]
CptsId = Annotated[str, Path(min_length=1, max_length=64, description="CPTS id (from the registry)")]
ResourceId = Annotated[str, Path(min_length=1, max_length=64)]
YearPath = Annotated[int, Path(ge=2019, le=2100, description="Fiscal year")]

INSEE_REGION = r"^\d{2}$"
INSEE_DEPARTEMENT = r"^(\d{2}|2A|2B|97\d)$"


def settings_of(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings


def fields_of(body: BaseModel) -> dict[str, Any]:
    """A request body's validated fields as Python values (``model_dump`` would serialise the
    amounts to strings), to build a use case's input."""
    return {name: getattr(body, name) for name in type(body).model_fields}
