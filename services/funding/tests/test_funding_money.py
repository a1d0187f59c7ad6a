"""Money never loses a cent: through the API, the database (both backends), the SQL sums, the
events and the CSV export, from one cent to the largest amount Numeric(14, 2) holds."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from funding_helpers import AJACCIO, PARIS, Api
from sqlalchemy import select

from cpts_funding.storage.models import Flow
from cpts_kit.money import as_cents, from_cents, sum_cents
from cpts_kit.outbox import OutboxEvent

SMALL = ["0.01", "0.10", "0.20", "1234567.89", "33.33", "33.33", "33.34"]
LARGEST = "999999999999.99"


async def test_cents_survive_every_layer(seeded: Api) -> None:
    ids = [
        (await seeded.post_flow("region", amount=a, mission="functioning", part="not_applicable"))["id"] for a in SMALL
    ]
    largest = await seeded.post_flow(
        "region",
        cpts_id=PARIS,
        amount=LARGEST,
        mission="functioning",
        part="not_applicable",
        fiscal_year=2022,
        date="2022-05-05",
    )
    reversal = await seeded.call(
        "POST", f"/v1/flows/{ids[0]}/reversal", json={"date": "2023-04-01", "reason": "one cent"}
    )
    assert reversal.json()["reversal"]["amount"] == "-0.01"

    # API: the same strings come back.
    for flow_id, amount in zip(ids, SMALL, strict=True):
        assert (await seeded.call("GET", f"/v1/flows/{flow_id}")).json()["amount"] == amount
    assert (await seeded.call("GET", f"/v1/flows/{largest['id']}")).json()["amount"] == LARGEST

    # Database: exact Decimals back from the ORM, exact sums in SQL.
    async with seeded.db.sessionmaker() as session:
        stored = {f.id: f.amount for f in await session.scalars(select(Flow))}
        assert [stored[i] for i in ids] == [Decimal(a) for a in SMALL]
        assert stored[largest["id"]] == Decimal(LARGEST)
        total = from_cents(
            await session.scalar(select(sum_cents(as_cents(Flow.amount))).where(Flow.fiscal_year == 2023))
        )
        assert total == sum(Decimal(a) for a in SMALL) - Decimal("0.01") == Decimal("1234668.19")

    # Analytics: 0.10 + 0.20 is 0.30, and the largest amount is whole.
    assert (await seeded.call("GET", "/v1/analytics/funding", params={"year": 2023})).json()["total"] == "1234668.19"
    assert (await seeded.call("GET", "/v1/analytics/funding", params={"year": 2022})).json()["total"] == LARGEST

    # Events: the amounts travel as the same decimal strings.
    async with seeded.db.sessionmaker() as session:
        events = [json.loads(e.body) for e in await session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq))]
    amounts = [e["data"]["amount"] for e in events]
    assert amounts == [*SMALL, LARGEST, "-0.01"]
    assert all(isinstance(a, str) for a in amounts)

    # CSV export: two decimals, no exponent, no float.
    rows = list(csv.DictReader(io.StringIO((await seeded.call("GET", "/v1/exports/flows.csv")).text)))
    assert [r["amount"] for r in rows] == [*SMALL, LARGEST, "-0.01"]


async def test_declared_and_envelope_amounts_keep_their_cents(seeded: Api) -> None:
    sources = [{"category": "own_resources", "amount": a} for a in ("0.10", "0.20", "1234567.89")]
    declared = await seeded.call(
        "POST", "/v1/declarations", json={"cpts_id": AJACCIO, "fiscal_year": 2023, "sources": sources}
    )
    assert declared.json()["total"] == "1234568.19"
    assert [s["amount"] for s in declared.json()["sources"]] == ["0.10", "0.20", "1234567.89"]
    assessed = await seeded.call(
        "PUT", f"/v1/cpts/{AJACCIO}/achievements/2023", json={"rates": {"professional_support": "0.3333"}}
    )
    support = next(m for m in assessed.json()["missions"] if m["mission"] == "professional_support")
    assert support["variable_earned"] == "4666.20"  # 14,000 × 0.3333
    envelope = assessed.json()
    lines = sum(Decimal(m["theoretical"]) for m in envelope["missions"]) + Decimal(envelope["functioning"]["amount"])
    assert lines == Decimal(envelope["totals"]["theoretical"])
