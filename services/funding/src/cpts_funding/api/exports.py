"""``/v1/exports``: CSV for analysts, streamed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from cpts_funding import csv_export
from cpts_funding.access import ACCESS
from cpts_funding.api.deps import Caller
from cpts_funding.api.flows import Filters

router = APIRouter(prefix="/v1/exports", tags=["exports"])


@router.get(
    "/flows.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "One line per flow the caller may see"}},
    summary="Every flow the caller may see, as CSV",
)
async def export_flows(request: Request, caller: Caller, filters: Filters) -> StreamingResponse:
    """Same filters as ``GET /v1/flows``; amounts with two decimals; streamed in batches; text
    cells a spreadsheet would run as formulas are neutralised."""
    ACCESS.require(caller, "flow.export")
    return StreamingResponse(
        csv_export.flow_rows(request.app.state.db, caller, filters),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="flows.csv"'},
    )
