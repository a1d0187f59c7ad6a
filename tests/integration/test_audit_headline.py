"""The headline scenario, end to end over the broker, through the public APIs only: the
registry, funding, documents and audit services, each on its own PostgreSQL database, on one
embedded broker. A CPTS declares its sources (ACI, FIR, fees), the Assurance maladie and the ARS
pay, the CPTS pushes a FEC (what its accounting software would send) that books an undeclared
laboratory subsidy and a yoga class: the audit raises the two findings with their evidence
(FEC lines and labels, the declaration, the flows), a subscriber of ``cpts.audit.events``
receives them, a controller handles one, and a replay from offset zero gives the same findings
with their workflow states."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from cpts_audit.demo_accounts import Anomalies, Received, build
from cpts_audit.main import create_app as create_audit_app
from cpts_audit.service import spec as audit_spec
from cpts_audit.settings import AuditSettings
from cpts_documents.main import create_app as create_documents_app
from cpts_documents.service import spec as documents_spec
from cpts_documents.settings import DocumentsSettings
from cpts_funding.main import create_app as create_funding_app
from cpts_funding.service import spec as funding_spec
from cpts_funding.settings import FundingSettings
from cpts_kit.auth import issue_dev_token
from cpts_kit.broker import EmbeddedBroker
from cpts_kit.service import upgrade
from cpts_kit.testing import cloudevents, create_postgres_database, drop_postgres_database, read_topic
from cpts_registry.main import create_app as create_registry_app
from cpts_registry.service import spec as registry_spec
from cpts_registry.settings import RegistrySettings

TUNING: dict[str, Any] = {
    "relay_interval_seconds": 0.1,
    "broker_check_interval_seconds": 1.0,
    "kafka_request_timeout_ms": 3000,
    "relay_max_backoff_seconds": 1.0,
    "log_json": False,
}
SERVICES = (
    ("registry", RegistrySettings, registry_spec, create_registry_app),
    ("funding", FundingSettings, funding_spec, create_funding_app),
    ("documents", DocumentsSettings, documents_spec, create_documents_app),
    ("audit", AuditSettings, audit_spec, create_audit_app),
)

Clients = dict[str, httpx.AsyncClient]


@pytest.fixture
async def platform(broker: EmbeddedBroker, tmp_path: Path) -> AsyncIterator[tuple[Clients, AuditSettings]]:
    urls = [await create_postgres_database() for _ in SERVICES]
    apps, settings_of = [], {}
    try:
        for (name, settings_class, spec, factory), url in zip(SERVICES, urls, strict=True):
            extra: dict[str, Any] = {"evaluation_interval_seconds": 0.2} if name == "audit" else {}
            if name == "documents":
                extra = {"overdue_check_interval_seconds": 0}
            settings = settings_class(
                database_url=url, state_dir=tmp_path, kafka_bootstrap=broker.bootstrap, **TUNING, **extra
            )
            await upgrade(spec, url)
            apps.append((name, factory(settings)))
            settings_of[name] = settings
        clients: Clients = {}
        async with (
            apps[0][1].router.lifespan_context(apps[0][1]),
            apps[1][1].router.lifespan_context(apps[1][1]),
            apps[2][1].router.lifespan_context(apps[2][1]),
            apps[3][1].router.lifespan_context(apps[3][1]),
        ):
            for name, app in apps:
                clients[name] = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")
            try:
                yield clients, settings_of["audit"]
            finally:
                for client in clients.values():
                    await client.aclose()
    finally:
        for url in urls:
            await drop_postgres_database(url)


def auth(settings: AuditSettings, role: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": "Bearer " + issue_dev_token(settings, role=role, **claims)}


async def eventually(check: Callable[[], Awaitable[bool]], what: str, tries: int = 300) -> None:
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


async def test_headline_undeclared_laboratory_money_and_yoga(platform: tuple[Clients, AuditSettings]) -> None:
    clients, settings = platform
    cnam, ars = auth(settings, "cnam"), auth(settings, "ars", region="94")
    registry, funding, documents, audit = (clients[n] for n in ("registry", "funding", "documents", "audit"))

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
    # The ARS validates the health project, the Assurance maladie signs the ACI (registry's ACCESS).
    for to, on, by in (("health_project_validated", "2022-06-01", ars), ("aci_signed", "2023-01-16", cnam)):
        moved = await registry.post(
            f"/v1/cpts/{cpts_id}/transitions", headers=by, json={"to": to, "effective_date": on}
        )
        assert moved.status_code == 200, moved.text
    own = auth(settings, "cpts", cpts=cpts_id)

    cpam = (
        await funding.post("/v1/funders", headers=cnam, json={"name": "CPAM de Corse-du-Sud", "category": "aci"})
    ).json()
    ars_funder = (
        await funding.post("/v1/funders", headers=cnam, json={"name": "ARS de Corse", "category": "fir"})
    ).json()
    payments = [
        (cpam["id"], "prevention", "120000.00", "2023-03-01"),
        (ars_funder["id"], "functioning", "30000.00", "2023-04-03"),
    ]

    async def paid() -> bool:
        answer = await funding.post(
            "/v1/flows",
            headers=cnam,
            json={
                "kind": "payment",
                "cpts_id": cpts_id,
                "funder_id": payments[0][0],
                "fiscal_year": 2023,
                "mission": payments[0][1],
                "part": "not_applicable" if payments[0][1] == "functioning" else "fixed",
                "amount": payments[0][2],
                "date": payments[0][3],
                "funder_reference": f"MANDAT-{len(payments)}",
            },
        )
        if answer.status_code == 201:
            payments.pop(0)
        return not payments

    await eventually(paid, "the signature reached funding and both payments were accepted")
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

    received = [
        Received("aci", "CPAM de Corse-du-Sud", "prevention", Decimal("120000.00"), date(2023, 3, 1)),
        Received("fir", "ARS de Corse", "functioning", Decimal("30000.00"), date(2023, 4, 3)),
    ]
    anomalies = Anomalies(
        laboratory=("Laboratoire Servier", Decimal("6000.00")),
        leisure=(("Séance de yoga pour les membres du bureau", Decimal("800.00")),),
    )
    transmission = build(2023, received, Decimal("3200.00"), anomalies, "Corse-du-Sud")

    async def pushed() -> bool:
        answer = await documents.post(
            f"/v1/cpts/{cpts_id}/documents",
            headers=own,
            files={"file": ("732829320FEC20231231.txt", transmission.fec)},
            data={"type": "fec", "fiscal_year": "2023"},
        )
        assert answer.status_code in (201, 404, 422), answer.text
        return answer.status_code == 201 and answer.json()["validation"]["verdict"] != "rejected"

    await eventually(pushed, "the CPTS reached documents and its FEC was accepted")

    async def findings() -> dict[str, dict[str, Any]]:
        page = (await audit.get("/v1/findings", headers=ars, params={"cpts": cpts_id})).json()
        return {f["rule"]: f for f in page["items"]}

    async def both() -> bool:
        return {"undeclared_source", "out_of_mission_spending"} <= set(await findings())

    await eventually(both, "the audit found the laboratory money and the yoga class")
    found = await findings()
    assert set(found) == {"undeclared_source", "out_of_mission_spending"}, found.keys()
    lab, yoga = found["undeclared_source"], found["out_of_mission_spending"]
    assert (lab["severity"], lab["amount"], lab["fiscal_year"], lab["region"]) == ("high", "6000.00", 2023, "94")
    [lab_line] = transmission.planted_lines["undeclared_laboratory"]
    assert any(e["kind"] == "fec_line" and e["line"] == lab_line and "Servier" in e["label"] for e in lab["evidence"])
    assert any(e["kind"] == "declaration" and e["id"] == declared.json()["id"] for e in lab["evidence"])
    [yoga_line] = transmission.planted_lines["leisure_spending"]
    assert (
        yoga["amount"] == "800.00"
        and yoga["evidence"][0]["line"] == yoga_line
        and "yoga" in yoga["evidence"][0]["label"]
    )

    # Outside the territory, nothing; the CPTS reads its own findings.
    other = await audit.get("/v1/findings", headers=auth(settings, "ars", region="11"))
    assert other.json()["total"] == 0
    assert (await audit.get("/v1/findings", headers=own)).json()["total"] == 2

    # A subscriber receives the events.
    events = cloudevents(await read_topic(settings.kafka_bootstrap, "cpts.audit.events", expect=3))
    raised = {e["data"]["rule"] for e in events if e["type"] == "fr.cpts.audit.finding.raised.v1"}
    assert raised == {"undeclared_source", "out_of_mission_spending"}
    assert all(e["subject"] == cpts_id for e in events)
    assert any(e["type"] == "fr.cpts.audit.risk.changed.v1" and e["data"]["score"] == 40 for e in events)

    # The ARS handles one; a replay from offset zero gives the same findings and keeps it.
    handled = await audit.patch(
        f"/v1/findings/{lab['id']}", headers=ars, json={"status": "acknowledged", "reason": "Convention demandée"}
    )
    assert handled.status_code == 200, handled.text
    before = (await audit.get("/v1/findings", headers=cnam)).json()["items"]
    replay = await audit.post("/v1/replay", headers=cnam)
    assert replay.status_code == 200, replay.text
    summary = replay.json()
    assert summary["findings_raised"] == summary["findings_updated"] == summary["findings_closed"] == 0
    assert summary["findings_total"] == 2 and summary["events_projected"] >= 6
    after = (await audit.get("/v1/findings", headers=cnam)).json()["items"]
    assert after == before
    assert next(f for f in after if f["id"] == lab["id"])["status"] == "acknowledged"
    refused = await audit.post("/v1/replay", headers=ars)
    assert refused.status_code == 403
