"""The published contracts are the code's: OpenAPI, event JSON Schemas and AsyncAPI."""

from __future__ import annotations

import json
from pathlib import Path

from cpts_funding.main import create_app
from cpts_funding.service import spec
from cpts_kit.contracts import asyncapi_document, check_service, event_schemas, openapi_document
from cpts_kit.service import discover

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"


def test_openapi_file_matches_the_running_app() -> None:
    published = json.loads((CONTRACTS / "openapi" / "funding.json").read_text())
    assert published == create_app(background=False).openapi(), "run `cpts contracts` and commit contracts/"
    assert openapi_document(spec) == published


def test_the_public_paths_are_there() -> None:
    paths = json.loads((CONTRACTS / "openapi" / "funding.json").read_text())["paths"]
    for path, method in [
        ("/v1/funders", "post"),
        ("/v1/funders", "get"),
        ("/v1/flows", "post"),
        ("/v1/flows", "get"),
        ("/v1/flows/{flow_id}/reversal", "post"),
        ("/v1/declarations", "post"),
        ("/v1/declarations", "get"),
        ("/v1/cpts/{cpts_id}/envelopes/{year}", "get"),
        ("/v1/cpts/{cpts_id}/schedules/{year}", "get"),
        ("/v1/cpts/{cpts_id}/achievements/{year}", "put"),
        ("/v1/reallocations", "post"),
        ("/v1/parameters/aci", "get"),
        ("/v1/parameters/aci/{version}", "put"),
        ("/v1/parameters/policy/{year}", "get"),
        ("/v1/parameters/policy/{year}", "put"),
        ("/v1/analytics/funding", "get"),
        ("/v1/reports/aci-fir-overlaps", "get"),
        ("/v1/exports/flows.csv", "get"),
        ("/v1/analytics/steering", "get"),
        ("/v1/simulations/aci", "post"),
        ("/v1/cpts/{cpts_id}/contract", "put"),
    ]:
        assert method in paths[path], f"{method.upper()} {path} missing"


def test_amounts_are_decimal_strings_in_the_contract() -> None:
    schemas = json.loads((CONTRACTS / "openapi" / "funding.json").read_text())["components"]["schemas"]
    amount = schemas["FlowCreate"]["properties"]["amount"]
    assert amount["type"] == "string" and amount["pattern"] == r"^-?\d{1,12}\.\d{2}$"
    assert schemas["FundingAnalytics"]["properties"]["total"]["type"] == "string"
    assert "illustrative" in schemas["EnvelopeView"]["properties"]


def test_event_schemas_and_asyncapi_are_up_to_date() -> None:
    assert check_service(spec, CONTRACTS) == [], "run `cpts contracts` and commit contracts/"
    schemas = event_schemas(spec)
    assert set(schemas) == {
        "fr.cpts.funding.allocation.notified.v1",
        "fr.cpts.funding.payment.recorded.v1",
        "fr.cpts.funding.recovery.recorded.v1",
        "fr.cpts.funding.declaration.submitted.v1",
        "fr.cpts.funding.envelope.computed.v1",
        "fr.cpts.funding.reallocation.decided.v1",
        "fr.cpts.funding.envelope.over_maximum.v1",
        "fr.cpts.funding.policy.versioned.v1",
    }
    assert schemas["fr.cpts.funding.payment.recorded.v1"]["properties"]["amount"]["type"] == "string"
    published = json.loads((CONTRACTS / "asyncapi.json").read_text())
    assert published == asyncapi_document(discover())  # every installed service's channel
    assert published["channels"]["funding"]["address"] == "cpts.funding.events"
    assert {t.replace(".", "_") for t in schemas} <= set(published["components"]["messages"])
