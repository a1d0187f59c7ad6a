"""``/v1/cpts/{id}/dialogues`` and ``/v1/dialogues/missing``: the annual dialogue de gestion,
its validation by the ARS and the CPAM (which freezes the year), and the dialogues missing."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from cpts_indicators import commands, queries
from cpts_indicators.access import ACCESS
from cpts_indicators.api import schemas
from cpts_indicators.api.deps import INSEE_REGION, Caller, CptsId, Session, problems, settings_of
from cpts_indicators.storage.models import Dialogue
from cpts_kit.pagination import Page, PageParams, page_params

router = APIRouter(tags=["dialogues"])

DialogueId = Annotated[str, Path(min_length=1, max_length=64)]


def view(row: Dialogue) -> schemas.DialogueView:
    return schemas.DialogueView(
        dialogue_id=row.dialogue_id,
        cpts_id=row.cpts_id,
        year=row.year,
        held_on=row.held_on,
        participants=[schemas.ParticipantBody.model_validate(p) for p in row.participants],
        grid=[schemas.GridEntryBody.model_validate(g) for g in row.grid],
        decisions=schemas.DecisionsBody.model_validate(row.decisions),
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        validated_by_ars=schemas.ValidationView(by=row.ars_validated_by, at=row.ars_validated_at)
        if row.ars_validated_by and row.ars_validated_at
        else None,
        validated_by_cpam=schemas.ValidationView(by=row.cpam_validated_by, at=row.cpam_validated_at)
        if row.cpam_validated_by and row.cpam_validated_at
        else None,
        frozen=row.ars_validated_by is not None and row.cpam_validated_by is not None,
    )


@router.post(
    "/v1/cpts/{cpts_id}/dialogues",
    response_model=schemas.DialogueView,
    status_code=status.HTTP_201_CREATED,
    summary="Record the year's dialogue de gestion (common grid, decisions)",
    responses=problems(403, 404, 409, 413),
)
async def record(
    cpts_id: CptsId, body: schemas.DialogueBody, request: Request, response: Response, session: Session, caller: Caller
) -> schemas.DialogueView:
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    ACCESS.require(caller, "dialogue.record")
    dumped = body.model_dump(mode="json")
    given = commands.DialogueInput(
        year=body.year,
        held_on=body.held_on,
        participants=dumped["participants"],
        grid=dumped["grid"],
        decisions=dumped["decisions"],
    )
    row = await commands.record_dialogue(session, settings_of(request), caller, cpts, given)
    await session.commit()
    response.headers["Location"] = f"/v1/cpts/{cpts_id}/dialogues/{row.dialogue_id}"
    return view(row)


@router.get(
    "/v1/cpts/{cpts_id}/dialogues",
    response_model=list[schemas.DialogueView],
    summary="The dialogues de gestion of a CPTS, by year",
    responses=problems(403, 404),
)
async def list_dialogues(cpts_id: CptsId, session: Session, caller: Caller) -> list[schemas.DialogueView]:
    ACCESS.require(caller, "dialogue.read")
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    return [view(r) for r in await queries.list_dialogues(session, cpts)]


@router.get(
    "/v1/cpts/{cpts_id}/dialogues/{dialogue_id}",
    response_model=schemas.DialogueView,
    summary="One dialogue de gestion",
    responses=problems(403, 404),
)
async def get_dialogue(
    cpts_id: CptsId, dialogue_id: DialogueId, session: Session, caller: Caller
) -> schemas.DialogueView:
    ACCESS.require(caller, "dialogue.read")
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    return view(await commands.load_dialogue(session, cpts, dialogue_id))


@router.post(
    "/v1/cpts/{cpts_id}/dialogues/{dialogue_id}/validation",
    response_model=schemas.DialogueView,
    summary="Validate the dialogue for the caller's side (ARS or CPAM); both freeze the year",
    responses=problems(403, 404, 409),
)
async def validate(
    cpts_id: CptsId, dialogue_id: DialogueId, request: Request, session: Session, caller: Caller
) -> schemas.DialogueView:
    cpts = await commands.load_visible_cpts(session, caller, cpts_id)
    ACCESS.require(caller, "dialogue.validate")
    row = await commands.load_dialogue(session, cpts, dialogue_id)
    await commands.validate_dialogue(session, settings_of(request), caller, cpts, row)
    await session.commit()
    return view(row)


@router.get(
    "/v1/dialogues/missing",
    response_model=Page[schemas.MissingDialogueView],
    summary="Signatories whose dialogue on the year was due (the anniversary after its end) and not held",
    responses=problems(403),
)
async def missing(
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    year: Annotated[int, Query(ge=2019, le=2100)],
    region: Annotated[str | None, Query(pattern=INSEE_REGION)] = None,
    as_of: Annotated[date | None, Query(description="The day the anniversaries are checked at (default today)")] = None,
) -> Page[schemas.MissingDialogueView]:
    ACCESS.require(caller, "dialogues.missing")
    rows, total = await queries.missing_dialogues(session, caller, year, as_of or date.today(), region, page)
    items = []
    for row in rows:
        assert row.cpts.aci_signed_on is not None
        items.append(
            schemas.MissingDialogueView(
                cpts_id=row.cpts.cpts_id,
                name=row.cpts.name,
                region=row.cpts.region,
                departement=row.cpts.departement,
                aci_signed_on=row.cpts.aci_signed_on,
                due_on=row.due_on,
                days_overdue=row.days_overdue,
            )
        )
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
