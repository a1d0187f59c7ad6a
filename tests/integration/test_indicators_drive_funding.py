"""The registry, funding and indicators services together, in one process on one embedded
broker (each with its own SQLite database), through the events only: the registry's signature
reaches the indicators service (size tier, maturity); targets are set, measurements recorded,
the dialogue de gestion validated by the ARS and the CPAM; the validated
``achievement.computed`` reaches the funding service, whose envelope's ``variable_earned``
follows the validated rates (funding consumes ``fr.cpts.indicators.achievement.computed.v1``,
contracts.md of this round)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from cpts_funding.main import create_app as create_funding_app
from cpts_funding.service import spec as funding_spec
from cpts_funding.settings import FundingSettings
from cpts_indicators.main import create_app as create_indicators_app
from cpts_indicators.service import spec as indicators_spec
from cpts_indicators.settings import IndicatorsSettings
from cpts_kit.auth import issue_dev_token
from cpts_kit.broker import EmbeddedBroker
from cpts_kit.service import upgrade
from cpts_kit.testing import eventually
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
Clients = tuple[httpx.AsyncClient, httpx.AsyncClient, httpx.AsyncClient]


@pytest.fixture
async def platform(broker: EmbeddedBroker, tmp_path: Path) -> AsyncIterator[Clients]:
    common = {"state_dir": tmp_path, "kafka_bootstrap": broker.bootstrap, **TUNING}
    settings = [
        RegistrySettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}", **common),
        FundingSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'funding.db'}", **common),
        IndicatorsSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'indicators.db'}", **common),
    ]
    for spec, each in zip((registry_spec, funding_spec, indicators_spec), settings, strict=True):
        await upgrade(spec, each.database_url)
    registry = create_registry_app(settings[0])  # type: ignore[arg-type]
    funding = create_funding_app(settings[1])  # type: ignore[arg-type]
    indicators = create_indicators_app(settings[2])  # type: ignore[arg-type]
    headers = {"Authorization": "Bearer " + issue_dev_token(settings[0], role="cnam")}

    def client(app: Any, name: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}", headers=headers)

    async with (
        registry.router.lifespan_context(registry),
        funding.router.lifespan_context(funding),
        indicators.router.lifespan_context(indicators),
        client(registry, "registry") as r,
        client(funding, "funding") as f,
        client(indicators, "indicators") as i,
    ):
        yield r, f, i


def token(service: httpx.AsyncClient, role: str, **claims: Any) -> dict[str, str]:
    settings = service._transport.app.state.settings  # type: ignore[attr-defined]
    return {"Authorization": "Bearer " + issue_dev_token(settings, role=role, **claims)}


def lines(envelope: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["mission"]: line for line in envelope["missions"]}


async def test_validated_achievement_drives_the_variable_part(platform: Clients) -> None:
    registry, funding, indicators = platform
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
    # The health project is the State's decision (DGOS), the ACI the Assurance maladie's act (Cnam).
    dgos = token(registry, "dgos")
    for to, on, by in (("health_project_validated", "2022-06-01", dgos), ("aci_signed", "2023-02-01", {})):
        moved = await registry.post(
            f"/v1/cpts/{cpts_id}/transitions", json={"to": to, "effective_date": on}, headers=by
        )
        assert moved.status_code == 200, moved.text
    ars, cpam = token(indicators, "ars", region="94"), token(indicators, "cpam", departement="2A")

    async def known() -> bool:
        targets = await indicators.get(f"/v1/cpts/{cpts_id}/targets/2024", headers=ars)
        return targets.status_code == 200 and targets.json()["maturity"] == 1

    await eventually(known, "the signature reached the indicators service")

    async def signed() -> bool:
        envelope = await funding.get(f"/v1/cpts/{cpts_id}/envelopes/2024")
        return envelope.status_code == 200 and envelope.json()["aci_days"] == 366

    await eventually(signed, "the signature reached the funding service")
    before = lines((await funding.get(f"/v1/cpts/{cpts_id}/envelopes/2024")).json())

    # T3 (80,001 inhabitants), maturity 1: default targets × 1.25.
    targets = {
        "indicators": [
            {"indicator": "access.mt_patients_found"},  # 350 × 1.25 = 437.50
            {"indicator": "access.unscheduled_care"},  # grade 1 + 1: started
            {"indicator": "prevention.actions", "target": "6", "reason": "Two prevention nurses left in 2024"},
        ]
    }
    put = await indicators.put(f"/v1/cpts/{cpts_id}/targets/2024", json=targets, headers=ars)
    assert put.status_code == 200, put.text
    extract = {"system": "Assurance maladie", "reference": "EXT-2024", "extracted_on": "2025-01-20"}
    for indicator, value, evidence in (
        ("access.mt_patients_found", "350", {"strength": "system_data", "extract": extract}),  # 0.8
        ("access.unscheduled_care", "started", {"strength": "declarative"}),  # 1 × 0.5
        ("prevention.actions", "3", {"strength": "declarative"}),  # 0.5 × 0.5
    ):
        body = {
            "indicator": indicator,
            "year": 2024,
            "period_start": "2024-01-01",
            "period_end": "2024-12-31",
            "value": value,
            "source": "CPTS coordinator",
            "evidence": evidence,
        }
        recorded = await indicators.post(f"/v1/cpts/{cpts_id}/measurements", json=body)
        assert recorded.status_code == 201, recorded.text
    dialogue = {
        "year": 2024,
        "held_on": "2025-02-10",
        "participants": [
            {"name": "Coordinator", "party": "cpts"},
            {"name": "ARS delegate", "party": "ars"},
            {"name": "CPAM delegate", "party": "cpam"},
        ],
        "grid": [{"mission": "access_to_care", "results": "350 patients found a médecin traitant"}],
        "decisions": {"variable_part_validated": True},
    }
    held = await indicators.post(f"/v1/cpts/{cpts_id}/dialogues", json=dialogue, headers=ars)
    assert held.status_code == 201, held.text
    validation = f"/v1/cpts/{cpts_id}/dialogues/{held.json()['dialogue_id']}/validation"
    assert (await indicators.post(validation, headers=ars)).status_code == 200
    assert (await indicators.post(validation, headers=cpam)).status_code == 200

    achievement = (await indicators.get(f"/v1/cpts/{cpts_id}/achievement/2024")).json()
    assert achievement["validated"] is True
    rates = {m["mission"]: m["rate"] for m in achievement["missions"]}
    # access: (0.4 × 0.8 + 0.3 × 0.5) / 0.7 = 0.671428... → 0.6714; prevention: 0.25.
    assert (rates["access_to_care"], rates["prevention"], rates["care_pathways"]) == ("0.6714", "0.2500", "0.0000")

    async def funding_applied() -> bool:
        envelope = await funding.get(f"/v1/cpts/{cpts_id}/envelopes/2024")
        return lines(envelope.json())["access_to_care"]["achievement"] == "0.6714"

    await eventually(funding_applied, "the validated achievement reached the funding service")
    after = lines((await funding.get(f"/v1/cpts/{cpts_id}/envelopes/2024")).json())
    for mission in ("access_to_care", "prevention", "care_pathways"):
        line = after[mission]
        assert line["achievement"] == rates[mission], mission
        expected = (Decimal(line["variable_max"]) * Decimal(rates[mission])).quantize(Decimal("0.01"))
        assert Decimal(line["variable_earned"]) == expected, mission
    assert after["access_to_care"]["variable_earned"] != before["access_to_care"]["variable_earned"]
