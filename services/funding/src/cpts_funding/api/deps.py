"""Dependencies and role sets shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_kit.auth import Principal, Role, current_principal
from cpts_kit.db import session_dependency
from cpts_kit.settings import ServiceSettings

Session = Annotated[AsyncSession, Depends(session_dependency)]
Caller = Annotated[Principal, Depends(current_principal)]
CptsId = Annotated[str, Path(min_length=1, max_length=64, description="CPTS id (from the registry)")]
ResourceId = Annotated[str, Path(min_length=1, max_length=64)]
YearPath = Annotated[int, Path(ge=2019, le=2100, description="Fiscal year")]

# Who may write what. Reads are open to every role inside its territory.
FUNDER_WRITERS = (Role.CNAM, Role.DGOS, Role.ARS, Role.CPAM)
FLOW_WRITERS = (Role.CNAM, Role.DGOS, Role.ARS, Role.CPAM)
DECLARANTS = (Role.CNAM, Role.DGOS, Role.ARS, Role.CPAM, Role.CPTS)
ASSESSORS = (Role.CNAM, Role.DGOS, Role.ARS, Role.CPAM)  # the dialogue de gestion
REALLOCATION_REQUESTERS = (Role.CNAM, Role.DGOS, Role.ARS, Role.CPAM, Role.CPTS)
ADMINISTRATORS = (Role.CNAM, Role.DGOS)

INSEE_REGION = r"^\d{2}$"
INSEE_DEPARTEMENT = r"^(\d{2}|2A|2B|97\d)$"


def settings_of(request: Request) -> ServiceSettings:
    settings: ServiceSettings = request.app.state.settings
    return settings
