"""The published contracts are the code's: OpenAPI, event JSON Schemas and AsyncAPI; every
error an endpoint can answer is declared as problem+json."""

from __future__ import annotations

import json
from pathlib import Path

from cpts_audit.main import create_app
from cpts_audit.service import spec
from cpts_kit.contracts import asyncapi_document, check_service, event_schemas
from cpts_kit.service import discover
from cpts_kit.testing import PROBLEM, assert_contracts_published

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"


def test_openapi_file_matches_the_running_app() -> None:
    published = assert_contracts_published(spec, CONTRACTS)
    assert published == create_app(background=False).openapi(), "run `cpts contracts` and commit contracts/"


def test_the_public_paths_and_their_problems_are_there() -> None:
    paths = json.loads((CONTRACTS / "openapi" / "audit.json").read_text())["paths"]
    for path, method, problems in [
        ("/v1/findings", "get", {"401", "403", "422"}),
        ("/v1/findings/summary", "get", {"401", "403", "422"}),
        ("/v1/findings/{finding_id}", "get", {"401", "403", "404"}),
        ("/v1/findings/{finding_id}", "patch", {"401", "403", "404", "409", "422"}),
        ("/v1/cpts/{cpts_id}/risk", "get", {"401", "403", "404"}),
        ("/v1/risk", "get", {"401", "403", "422"}),
        ("/v1/reports/missions", "get", {"401", "403", "422"}),
        ("/v1/rules", "get", {"401", "403"}),
        ("/v1/replay", "post", {"401", "403", "503"}),
    ]:
        responses = paths[path][method]["responses"]
        assert problems <= set(responses), (method, path)
        for status in problems:
            assert PROBLEM in responses[status]["content"], (method, path, status)


def test_event_schemas_and_asyncapi_are_up_to_date() -> None:
    assert check_service(spec, CONTRACTS) == [], "run `cpts contracts` and commit contracts/"
    schemas = event_schemas(spec)
    assert set(schemas) == {
        "fr.cpts.audit.finding.raised.v1",
        "fr.cpts.audit.finding.updated.v1",
        "fr.cpts.audit.finding.closed.v1",
        "fr.cpts.audit.finding.status_changed.v1",
        "fr.cpts.audit.risk.changed.v1",
    }
    assert schemas["fr.cpts.audit.finding.raised.v1"]["properties"]["amount"]["type"] == "string"
    published = json.loads((CONTRACTS / "asyncapi.json").read_text())
    assert published == asyncapi_document(discover())
    assert published["channels"]["audit"]["address"] == "cpts.audit.events"
