"""CSV export of the flows for analysts, streamed: rows are read in batches (keyset on the
recording order) and written as they come, never built in memory. Every row goes through
``cpts_kit.csvsafe.safe_row``: a funder named ``=HYPERLINK(...)`` reaches the spreadsheet as text."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

from cpts_funding.domain.amounts import cents
from cpts_funding.queries import FlowFilters, flows_query
from cpts_funding.storage.models import Flow
from cpts_kit.auth import Principal
from cpts_kit.csvsafe import safe_row
from cpts_kit.db import Database

BATCH = 1000
COLUMNS = (
    "flow_id",
    "seq",
    "kind",
    "reverses",
    "cpts_id",
    "cpts_name",
    "region",
    "departement",
    "funder_id",
    "funder_name",
    "funder_siren",
    "funder_category",
    "fiscal_year",
    "mission",
    "part",
    "amount",
    "date",
    "funder_reference",
    "recorded_at",
    "recorded_by",
)


def _line(values: list[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(safe_row(values))
    return buffer.getvalue()


async def flow_rows(db: Database, principal: Principal, filters: FlowFilters) -> AsyncIterator[str]:
    """The header, then one CSV line per visible flow, in recording order."""
    yield _line(list(COLUMNS))
    last = 0
    while True:
        async with db.sessionmaker() as session:
            rows = (
                await session.execute(
                    flows_query(principal, filters).where(Flow.seq > last).order_by(Flow.seq).limit(BATCH)
                )
            ).all()
        if not rows:
            return
        chunk = []
        for flow, cpts, _ in rows:
            chunk.append(
                _line(
                    [
                        flow.id,
                        flow.seq,
                        flow.kind,
                        flow.reverses or "",
                        flow.cpts_id,
                        cpts.name,
                        cpts.region,
                        cpts.departement,
                        flow.funder_id,
                        flow.funder.name,
                        flow.funder.siren or "",
                        flow.funder_category,
                        flow.fiscal_year,
                        flow.mission,
                        flow.part,
                        cents(flow.amount),  # a Decimal: left as it is (a negative reversal stays a number)
                        flow.flow_date.isoformat(),
                        flow.funder_reference,
                        flow.recorded_at.isoformat(),
                        flow.recorded_by,
                    ]
                )
            )
            last = flow.seq
        yield "".join(chunk)
        if len(rows) < BATCH:
            return
