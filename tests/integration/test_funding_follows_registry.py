"""The registry and the funding service together, in one process on one embedded broker (each
with its own SQLite database): ACI money follows the registry's lifecycle, through the events
only. A CPTS registered in the registry cannot receive ACI money; once the registry moves it to
aci_signed, the funding service learns it from the event and accepts the payment, but still
refuses one dated before the signature."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cpts_funding.main import create_app as create_funding_app
from cpts_funding.service import spec as funding_spec
from cpts_funding.settings import FundingSettings
from cpts_kit.auth import issue_dev_token
from cpts_kit.broker import EmbeddedBroker
from cpts_kit.service import upgrade
from cpts_kit.testing import eventually
from cpts_registry.main import create_app as create_registry_app
from cpts_registry.service import spec as registry_spec
from cpts_registry.settings import RegistrySettings

PROBLEM = "application/problem+json"
TUNING: dict[str, Any] = {
    "relay_interval_seconds": 0.1,
    "broker_check_interval_seconds": 1.0,
    "kafka_request_timeout_ms": 3000,
    "relay_max_backoff_seconds": 1.0,
    "log_json": False,
}


@pytest.fixture
async def platform(
    broker: EmbeddedBroker, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, dict[str, str]]]:
    registry_settings = RegistrySettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}",
        state_dir=tmp_path,
        kafka_bootstrap=broker.bootstrap,
        **TUNING,
    )
    funding_settings = FundingSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'funding.db'}",
        state_dir=tmp_path,
        kafka_bootstrap=broker.bootstrap,
        **TUNING,
    )
    await upgrade(registry_spec, registry_settings.database_url)
    await upgrade(funding_spec, funding_settings.database_url)
    registry, funding = create_registry_app(registry_settings), create_funding_app(funding_settings)
    headers = {"Authorization": "Bearer " + issue_dev_token(funding_settings, role="cnam")}
    async with (
        registry.router.lifespan_context(registry),
        funding.router.lifespan_context(funding),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=registry), base_url="http://registry", headers=headers
        ) as r,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=funding), base_url="http://funding", headers=headers) as f,
    ):
        yield r, f, headers


async def test_aci_payments_follow_the_registry_lifecycle(
    platform: tuple[httpx.AsyncClient, httpx.AsyncClient, dict[str, str]], tmp_path: Path
) -> None:
    registry, funding, _ = platform
    created = await registry.post(
        "/v1/cpts",
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
    cnam = await funding.post(
        "/v1/funders", json={"name": "Caisse nationale de l'Assurance maladie", "category": "aci"}
    )
    payment = {
        "kind": "payment",
        "cpts_id": cpts_id,
        "funder_id": cnam.json()["id"],
        "fiscal_year": 2024,
        "mission": "prevention",
        "part": "fixed",
        "amount": "16500.00",
        "date": "2024-03-01",
        "funder_reference": "MANDAT-2024-0001",
    }
    refusals: list[httpx.Response] = []

    async def refused_by_the_rule() -> bool:
        # Until the registration event arrives the CPTS is unknown to the funding service
        # (a 422 on cpts_id); then the ACI rule refuses the payment. Neither writes anything.
        answer = await funding.post("/v1/flows", json=payment)
        assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM, answer.text
        refusals.append(answer)
        return bool(answer.json()["type"] == "/problems/aci-signatories-only")

    await eventually(refused_by_the_rule, "the registration reached the funding service")
    problem = refusals[-1].json()
    assert problem["rule"] == "aci_signatories_only" and problem["status_on_date"] == "intention_letter_signed"
    assert "ACI money goes only to ACI signatories" in problem["detail"]

    transitions = f"/v1/cpts/{cpts_id}/transitions"
    for to, on in (("health_project_validated", "2022-06-01"), ("aci_signed", "2024-02-01")):
        # The health project is the State's decision (DGOS), the ACI the Assurance maladie's act (Cnam).
        role = "dgos" if to == "health_project_validated" else "cnam"
        token = issue_dev_token(RegistrySettings(state_dir=tmp_path, embedded=True), role=role)
        moved = await registry.post(
            transitions, json={"to": to, "effective_date": on}, headers={"Authorization": f"Bearer {token}"}
        )
        assert moved.status_code == 200, moved.text

    async def signed() -> bool:
        envelope = await funding.get(f"/v1/cpts/{cpts_id}/envelopes/2024")
        return envelope.status_code == 200 and envelope.json()["aci_days"] > 0

    await eventually(signed, "the signature reached the funding service")
    accepted = await funding.post("/v1/flows", json=payment)
    assert accepted.status_code == 201, accepted.text
    assert (accepted.json()["region"], accepted.json()["departement"]) == ("94", "2A")
    before = await funding.post("/v1/flows", json={**payment, "date": "2024-01-31", "funder_reference": "MANDAT-X"})
    assert before.status_code == 422 and before.json()["type"] == "/problems/aci-signatories-only"
    assert before.json()["status_on_date"] == "health_project_validated"
    flows = (await funding.get("/v1/flows")).json()
    assert flows["total"] == 1 and flows["items"][0]["amount"] == "16500.00"
    envelope = (await funding.get(f"/v1/cpts/{cpts_id}/envelopes/2024")).json()
    # The registry computed 80,001 inhabitants (T3 for the ACI); signed on 1 February 2024: its
    # first contract year runs to 31 January 2025, 366 days.
    assert envelope["population"] == 80_001 and envelope["size_tier"] == "T3" and envelope["aci_days"] == 366
    assert (envelope["contract_year_start"], envelope["contract_year_end"]) == ("2024-02-01", "2025-01-31")
    assert envelope["totals"]["paid"] == "16500.00"
