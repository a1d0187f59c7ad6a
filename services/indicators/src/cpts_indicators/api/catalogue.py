"""``/v1/catalogue``: the versioned catalogue of indicators (the shipped one is illustrative)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from cpts_indicators import commands
from cpts_indicators.access import ACCESS
from cpts_indicators.api import schemas
from cpts_indicators.api.deps import Caller, Session, problems

router = APIRouter(prefix="/v1/catalogue", tags=["catalogue"])

Version = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="Catalogue version name")]


def view(loaded: commands.LoadedCatalogue) -> schemas.CatalogueView:
    return schemas.CatalogueView.model_validate(
        {
            **loaded.document,
            "version": loaded.catalogue.version,
            "shipped": loaded.loaded_at is None,
            "loaded_by": loaded.loaded_by,
            "loaded_at": loaded.loaded_at,
        }
    )


@router.get(
    "", response_model=list[schemas.CatalogueSummary], summary="Every catalogue version", responses=problems(403)
)
async def list_versions(session: Session, caller: Caller) -> list[schemas.CatalogueSummary]:
    ACCESS.require(caller, "catalogue.read")
    return [
        schemas.CatalogueSummary(
            version=c.catalogue.version,
            effective_year=c.catalogue.effective_year,
            illustrative=c.catalogue.illustrative,
            label=c.catalogue.label,
            indicators=len(c.catalogue.indicators),
            shipped=c.loaded_at is None,
            loaded_at=c.loaded_at,
        )
        for c in await commands.catalogues(session)
    ]


@router.get(
    "/{version}", response_model=schemas.CatalogueView, summary="One catalogue version", responses=problems(403, 404)
)
async def get_version(version: Version, session: Session, caller: Caller) -> schemas.CatalogueView:
    ACCESS.require(caller, "catalogue.read")
    return view(await commands.catalogue_version(session, version))


@router.put(
    "/{version}",
    response_model=schemas.CatalogueView,
    status_code=status.HTTP_201_CREATED,
    summary="Load a new catalogue version (national roles); versions never change",
    responses={200: {"description": "The same version was already loaded"}, **problems(403, 409, 413)},
)
async def put_version(
    version: Version, body: schemas.CatalogueBody, response: Response, session: Session, caller: Caller
) -> schemas.CatalogueView:
    ACCESS.require(caller, "catalogue.load")
    loaded, created = await commands.put_catalogue(session, caller, version, body.model_dump(mode="json"))
    await session.commit()
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return view(loaded)
