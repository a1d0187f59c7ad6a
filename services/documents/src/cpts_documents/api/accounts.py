"""``/v1/cpts/{id}/accounts/{year}`` and ``/v1/cpts/{id}/spending/{year}``: what the
transmitted accounts and spending statements say; and the reference tables behind them."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import PlainTextResponse
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_documents import commands, queries
from cpts_documents.access import ACCESS
from cpts_documents.api import schemas, views
from cpts_documents.domain.chart import default_chart
from cpts_documents.domain.spending import template
from cpts_kit.auth import Principal, current_principal
from cpts_kit.csvsafe import safe_row
from cpts_kit.db import session_dependency
from cpts_kit.missions import LABELS_FR as MISSION_LABELS_FR

router = APIRouter(tags=["accounts"])

Session = Annotated[AsyncSession, Depends(session_dependency)]
Caller = Annotated[Principal, Depends(current_principal)]
CptsId = Annotated[str, Path(min_length=1, max_length=64, description="CPTS id (from the registry)")]
Year = Annotated[int, Path(ge=2015, le=2100, description="Fiscal year")]


def safe_csv(text: str, delimiter: str = ";") -> str:
    """A CSV this service writes, each row through ``safe_row``: a cell a spreadsheet would run
    as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) reaches the reader as text."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        writer.writerow(safe_row(row))
    return out.getvalue()


@router.get(
    "/v1/cpts/{cpts_id}/accounts/{year}",
    response_model=schemas.AccountsView,
    summary="The accounting summary of the current, accepted FEC of the year",
)
async def get_accounts(cpts_id: CptsId, year: Year, session: Session, caller: Caller) -> schemas.AccountsView:
    await commands.load_visible_cpts(session, caller, cpts_id)
    ACCESS.require(caller, "accounts.read")
    return views.accounts_view(await queries.accounts_of(session, cpts_id, year), cpts_id, year)


@router.get(
    "/v1/cpts/{cpts_id}/spending/{year}",
    response_model=schemas.SpendingView,
    summary="Actual spending per mission, from the current accepted spending statement",
)
async def get_spending(cpts_id: CptsId, year: Year, session: Session, caller: Caller) -> schemas.SpendingView:
    await commands.load_visible_cpts(session, caller, cpts_id)
    ACCESS.require(caller, "accounts.read")
    return views.spending_view(await queries.spending_of(session, cpts_id, year), cpts_id, year)


@router.get(
    "/v1/spending-template",
    response_class=PlainTextResponse,
    summary="The CSV template of the spending statement per mission",
    responses={200: {"content": {"text/csv": {}}}},
)
async def get_spending_template(caller: Caller) -> PlainTextResponse:
    ACCESS.require(caller, "reference.read")
    return PlainTextResponse(
        safe_csv(template()),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="spending-statement-template.csv"'},
    )


@router.get("/v1/missions", response_model=list[schemas.MissionView], summary="The missions of the template")
async def get_missions(caller: Caller) -> list[schemas.MissionView]:
    ACCESS.require(caller, "reference.read")
    return [schemas.MissionView(code=m, label_fr=label) for m, label in MISSION_LABELS_FR.items()]


@router.get(
    "/v1/chart-of-accounts",
    response_model=list[schemas.ChartRuleView],
    summary="The mapping from account numbers to summary categories (ANC 2018-06)",
)
async def get_chart(caller: Caller) -> list[schemas.ChartRuleView]:
    ACCESS.require(caller, "reference.read")
    return [
        schemas.ChartRuleView(
            prefix=r.prefix,
            keywords=r.keywords.keywords() if r.keywords else [],
            side=r.side,
            category=r.category,
            group=r.group,
            label_fr=r.label_fr,
        )
        for r in default_chart().rules
    ]
