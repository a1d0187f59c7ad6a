"""``/v1/coverage`` and the reference lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_kit.auth import Principal, current_principal
from cpts_kit.db import session_dependency
from cpts_registry import queries
from cpts_registry.access import ACCESS
from cpts_registry.api import schemas, views
from cpts_registry.domain.professions import PROFESSIONS

router = APIRouter(prefix="/v1", tags=["coverage"])


@router.get("/coverage", response_model=schemas.CoverageView, summary="Population covered by active CPTS")
async def get_coverage(
    session: Annotated[AsyncSession, Depends(session_dependency)],
    caller: Annotated[Principal, Depends(current_principal)],
    region: Annotated[str | None, Query(pattern=r"^\d{2}$", description="INSEE region code")] = None,
    departement: Annotated[
        str | None, Query(pattern=r"^(\d{2}|2A|2B|97\d)$", description="INSEE département code")
    ] = None,
) -> schemas.CoverageView:
    """The nation (no parameter), a region or a département: population, covered and uncovered
    population, the uncovered communes ("zones blanches") and the communes claimed by more
    than one active CPTS (every status but dissolved)."""
    ACCESS.require(caller, "coverage.read")
    return views.coverage(await queries.coverage(session, caller, region=region, departement=departement))


@router.get("/professions", response_model=list[schemas.ProfessionView], tags=["reference"], summary="Profession codes")
async def list_professions(caller: Annotated[Principal, Depends(current_principal)]) -> list[schemas.ProfessionView]:
    ACCESS.require(caller, "reference.read")
    return [
        schemas.ProfessionView(code=p, label_fr=i.label_fr, health_profession=i.health) for p, i in PROFESSIONS.items()
    ]
