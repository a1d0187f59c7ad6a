"""The headline scenario, end to end over the broker, through the public APIs only: the five
services (registry, funding, documents, indicators, audit) each started with ``cpts serve`` as
its own process on its own PostgreSQL database, on one embedded broker. A CPTS is registered and
signed (the DGOS validates its health project, the Cnam signs the ACI), declares its sources
(ACI, FIR, own resources), the CPAM pays the ACI and the ARS the FIR, and the CPTS pushes a FEC
(what its accounting software would send) that books those payments plus an undeclared
laboratory subsidy and a yoga class: the audit raises its findings with their evidence (FEC
lines and labels, the declaration), a subscriber of ``cpts.audit.events`` receives them, the
ARS acknowledges one, and a replay from offset zero gives the same findings with their workflow
states. Fails, never skips, when PostgreSQL is unreachable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fault_platform import Platform

from cpts_audit.demo_accounts import Anomalies, Received, build
from cpts_kit.testing import cloudevents, eventually, read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.broker]

SERVICES = ["registry", "funding", "documents", "indicators", "audit"]
# The audit evaluates often; documents' overdue sweep stays off (no deadline in this story).
QUICK = {"CPTS_AUDIT_EVALUATION_INTERVAL_SECONDS": "0.2", "CPTS_DOCUMENTS_OVERDUE_CHECK_INTERVAL_SECONDS": "0"}
LAB = ("Laboratoire Servier", Decimal("6000.00"))
YOGA = ("Séance de yoga pour les membres du bureau", Decimal("800.00"))
RAISED = "fr.cpts.audit.finding.raised.v1"
STATUS_CHANGED = "fr.cpts.audit.finding.status_changed.v1"


@pytest.fixture
async def five(tmp_path: Path) -> AsyncIterator[tuple[Platform, dict[str, httpx.AsyncClient]]]:
    """The five services started in parallel, each waited for on /healthz."""
    async with Platform.on_postgres(tmp_path, SERVICES, **QUICK) as platform:
        processes = platform.start_together(*((name, None, {}) for name in SERVICES), cap_seconds=90)
        clients = {p.name: httpx.AsyncClient(base_url=p.url, timeout=15) for p in processes}
        try:
            yield platform, clients
        finally:
            for client in clients.values():
                await client.aclose()
            platform.mark("scenario over")


async def test_headline_undeclared_laboratory_money_and_yoga(
    five: tuple[Platform, dict[str, httpx.AsyncClient]],
) -> None:
    platform, clients = five
    registry, funding, documents, audit = (clients[n] for n in ("registry", "funding", "documents", "audit"))
    cnam, dgos = platform.auth("cnam"), platform.auth("dgos")
    ars, cpam = platform.auth("ars", region="94"), platform.auth("cpam", departement="2A")

    # The registry: registered, the health project validated by the DGOS, the ACI signed by the Cnam.
    created = await registry.post(
        "/v1/cpts",
        headers=cnam,
        json={
            "name": "CPTS du Pays Ajaccien",
            "siren": "732829320",
            "region": "94",
            "departement": "2A",
            "communes": ["2A004", "2A006"],
            "intention_letter_signed_on": "2021-03-01",
        },
    )
    assert created.status_code == 201, created.text
    cpts_id = created.json()["id"]
    for to, on, who in (("health_project_validated", "2022-06-01", dgos), ("aci_signed", "2023-01-16", cnam)):
        moved = await registry.post(
            f"/v1/cpts/{cpts_id}/transitions", headers=who, json={"to": to, "effective_date": on}
        )
        assert moved.status_code == 200, moved.text
    own = platform.auth("cpts", cpts=cpts_id)
    platform.mark("CPTS registered and signed")

    # Funding: the funders, then the payments once the signature reached funding over the broker.
    funders = {}
    for name, category in (("CPAM de Corse-du-Sud", "aci"), ("ARS de Corse", "fir")):
        answer = await funding.post("/v1/funders", headers=cnam, json={"name": name, "category": category})
        assert answer.status_code == 201, answer.text
        funders[category] = answer.json()["id"]
    payments = [
        (cpam, "aci", "prevention", "fixed", "120000.00", "2023-03-01"),
        (ars, "fir", "functioning", "not_applicable", "30000.00", "2023-04-03"),
    ]

    async def paid() -> bool:
        who, category, mission, part, amount, on = payments[0]
        answer = await funding.post(
            "/v1/flows",
            headers=who,
            json={
                "kind": "payment",
                "cpts_id": cpts_id,
                "funder_id": funders[category],
                "fiscal_year": 2023,
                "mission": mission,
                "part": part,
                "amount": amount,
                "date": on,
                "funder_reference": f"MANDAT-{category}",
            },
        )
        assert answer.status_code in (201, 404, 409, 422), answer.text  # 404/409/422 until the CPTS arrives
        if answer.status_code == 201:
            payments.pop(0)
        return not payments

    await eventually(paid, "the signature reached funding and the CPAM and the ARS paid", cap_seconds=60)
    declared = await funding.post(
        "/v1/declarations",
        headers=own,
        json={
            "cpts_id": cpts_id,
            "fiscal_year": 2023,
            "sources": [
                {"category": "aci", "amount": "120000.00"},
                {"category": "fir", "amount": "30000.00"},
                {"category": "own_resources", "amount": "3200.00"},
            ],
        },
    )
    assert declared.status_code == 201, declared.text
    platform.mark("paid and declared")

    # Documents: the FEC books both payments, the laboratory's money and the yoga class.
    received = [
        Received("aci", "CPAM de Corse-du-Sud", "prevention", Decimal("120000.00"), date(2023, 3, 1)),
        Received("fir", "ARS de Corse", "functioning", Decimal("30000.00"), date(2023, 4, 3)),
    ]
    transmission = build(2023, received, Decimal("3200.00"), Anomalies(laboratory=LAB, leisure=(YOGA,)), "Corse-du-Sud")

    async def pushed() -> bool:
        answer = await documents.post(
            f"/v1/cpts/{cpts_id}/documents",
            headers=own,
            files={"file": ("732829320FEC20231231.txt", transmission.fec)},
            data={"type": "fec", "fiscal_year": "2023"},
        )
        assert answer.status_code in (201, 404), answer.text  # 404 until the CPTS reaches documents
        if answer.status_code == 201:
            assert answer.json()["validation"]["verdict"] != "rejected", answer.text
        return answer.status_code == 201

    await eventually(pushed, "the CPTS reached documents and its FEC was accepted", cap_seconds=60)
    platform.mark("FEC accepted")

    # The audit: its findings, with the laboratory's amount and the yoga entry's FEC lines.
    async def findings() -> dict[str, dict[str, Any]]:
        page = await audit.get("/v1/findings", headers=ars, params={"cpts": cpts_id})
        assert page.status_code == 200, page.text
        return {f["rule"]: f for f in page.json()["items"]}

    async def found_both() -> bool:
        # The declaration and the accounts reach the audit on two topics, in either order: the
        # finding is complete once it cites the declaration it contradicts.
        found = await findings()
        cited = [e["id"] for e in found.get("undeclared_source", {}).get("evidence", []) if e["kind"] == "declaration"]
        return "out_of_mission_spending" in found and declared.json()["id"] in cited

    await eventually(found_both, "the audit found the laboratory money and the yoga class", cap_seconds=60)
    platform.mark("findings raised")
    found = await findings()
    assert set(found) <= {"undeclared_source", "health_industry_funding", "out_of_mission_spending"}, found.keys()
    [lab_line] = transmission.planted_lines["undeclared_laboratory"]
    for rule in {"undeclared_source", "health_industry_funding"} & set(found):
        lab = found[rule]
        assert (lab["severity"], lab["amount"], lab["fiscal_year"], lab["region"]) == ("high", "6000.00", 2023, "94")
        assert any(e.get("line") == lab_line and "Servier" in e.get("label", "") for e in lab["evidence"]), lab
    lab = found["undeclared_source"]
    assert any(e["kind"] == "declaration" and e["id"] == declared.json()["id"] for e in lab["evidence"])
    yoga = found["out_of_mission_spending"]
    yoga_lines = transmission.planted_lines["leisure_spending"]
    assert yoga["amount"] == "800.00" and yoga_lines
    assert [e["line"] for e in yoga["evidence"] if e["kind"] == "fec_line"] == yoga_lines
    assert all("yoga" in e["label"] for e in yoga["evidence"] if e["kind"] == "fec_line")

    # Outside the territory, nothing; the CPTS reads its own findings.
    other = await audit.get("/v1/findings", headers=platform.auth("ars", region="11"))
    assert other.status_code == 200 and other.json()["total"] == 0
    assert (await audit.get("/v1/findings", headers=own)).json()["total"] == len(found)

    # A subscriber of cpts.audit.events (an aiokafka consumer) receives the findings raised.
    events = cloudevents(await read_topic(platform.broker.bootstrap, "cpts.audit.events", expect=len(found) + 1))
    raised = {e["data"]["finding_id"]: e["data"]["rule"] for e in events if e["type"] == RAISED}
    assert raised == {f["id"]: rule for rule, f in found.items()}
    assert all(e["subject"] == cpts_id for e in events)

    # The workflow: the ARS acknowledges the laboratory finding with a reason; an event says so.
    handled = await audit.patch(
        f"/v1/findings/{lab['id']}", headers=ars, json={"status": "acknowledged", "reason": "Convention demandée"}
    )
    assert handled.status_code == 200, handled.text
    assert handled.json()["status"] == "acknowledged"
    events = cloudevents(await read_topic(platform.broker.bootstrap, "cpts.audit.events", expect=len(events) + 1))
    [changed] = [e["data"] for e in events if e["type"] == STATUS_CHANGED]
    assert (changed["finding_id"], changed["from_status"], changed["to_status"]) == (lab["id"], "open", "acknowledged")
    assert changed["reason"] == "Convention demandée" and changed["author_role"] == "ars", changed

    # A replay from offset zero gives the same findings and keeps the workflow state.
    before = (await audit.get("/v1/findings", headers=cnam)).json()["items"]
    replay = await audit.post("/v1/replay", headers=cnam, timeout=60)
    assert replay.status_code == 200, replay.text
    summary = replay.json()
    assert summary["findings_raised"] == summary["findings_updated"] == summary["findings_closed"] == 0, summary
    assert summary["findings_total"] == len(found), summary
    after = (await audit.get("/v1/findings", headers=cnam)).json()["items"]
    assert after == before
    assert next(f for f in after if f["id"] == lab["id"])["status"] == "acknowledged"
    assert (await audit.post("/v1/replay", headers=ars)).status_code == 403
    platform.mark("replayed")
