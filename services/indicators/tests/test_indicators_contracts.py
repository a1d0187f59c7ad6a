"""The published contracts are the code's: OpenAPI, event JSON Schemas and AsyncAPI; every
endpoint declares its problems as application/problem+json."""

from __future__ import annotations

from pathlib import Path

from cpts_indicators.main import create_app
from cpts_indicators.service import spec
from cpts_kit.contracts import event_schemas
from cpts_kit.testing import assert_contracts_published

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"


def test_the_published_contracts_are_the_code_s() -> None:
    published = assert_contracts_published(spec, CONTRACTS)
    assert published == create_app(background=False).openapi(), "run `cpts contracts` and commit contracts/"


def test_every_endpoint_declares_its_problems() -> None:
    paths = assert_contracts_published(spec, CONTRACTS)["paths"]
    for path, operations in paths.items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("401", "403", "422"):
                assert "application/problem+json" in responses[status]["content"], (method, path, status)
            if "{cpts_id}" in path:
                assert "404" in responses, (method, path)
            if method in ("put", "post"):
                assert "409" in responses, (method, path)


def test_event_schemas_follow_the_round_contracts() -> None:
    schemas = event_schemas(spec)
    fields = {
        "fr.cpts.indicators.achievement.computed.v1": {
            "cpts_id", "region", "departement", "year", "catalogue_version", "validated", "missions",
        },
        "fr.cpts.indicators.dialogue.held.v1": {
            "dialogue_id", "cpts_id", "region", "departement", "year", "held_on", "validated_by_ars",
            "validated_by_cpam",
        },
        "fr.cpts.indicators.measurement.recorded.v1": {
            "measurement_id", "cpts_id", "year", "indicator", "mission", "evidence_strength",
        },
        "fr.cpts.indicators.targets.set.v1": {"cpts_id", "year", "targets"},
        "fr.cpts.indicators.activity.assessed.v1": {
            "cpts_id", "region", "departement", "year", "missions_funded_without_measurement",
            "declarative_share", "dialogue_missing",
        },
    }  # fmt: skip
    for event_type, required in fields.items():
        assert required <= set(schemas[event_type]["properties"]), event_type
    mission = schemas["fr.cpts.indicators.achievement.computed.v1"]["$defs"]["MissionAchievementData"]
    assert {
        "mission",
        "rate",
        "variable_maximum",
        "variable_earned",
        "indicators_count",
        "measurements_count",
        "declarative_share",
    } <= set(mission["properties"])
