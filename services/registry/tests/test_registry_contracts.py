"""The published contracts are the code's: OpenAPI, event JSON Schemas and AsyncAPI."""

from __future__ import annotations

import json
from pathlib import Path

from cpts_kit.contracts import asyncapi_document, check_service, event_schemas
from cpts_kit.service import discover
from cpts_kit.testing import assert_contracts_published
from cpts_registry.main import create_app
from cpts_registry.service import spec

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"


def test_openapi_file_matches_the_running_app() -> None:
    published = assert_contracts_published(spec, CONTRACTS)
    assert published == create_app(background=False).openapi(), "run `cpts contracts` and commit contracts/"


def test_the_public_paths_are_there() -> None:
    paths = json.loads((CONTRACTS / "openapi" / "registry.json").read_text())["paths"]
    for path, method in [
        ("/v1/cpts", "post"),
        ("/v1/cpts", "get"),
        ("/v1/cpts/{cpts_id}", "get"),
        ("/v1/cpts/{cpts_id}", "patch"),
        ("/v1/cpts/{cpts_id}/transitions", "post"),
        ("/v1/cpts/{cpts_id}/territory", "put"),
        ("/v1/cpts/{cpts_id}/members/{year}", "put"),
        ("/v1/cpts/{cpts_id}/governance", "put"),
        ("/v1/coverage", "get"),
    ]:
        assert method in paths[path], f"{method.upper()} {path} missing"


def test_event_schemas_and_asyncapi_are_up_to_date() -> None:
    assert check_service(spec, CONTRACTS) == [], "run `cpts contracts` and commit contracts/"
    schemas = event_schemas(spec)
    assert "fr.cpts.registry.cpts.registered.v1" in schemas
    asyncapi = json.loads((CONTRACTS / "asyncapi.json").read_text())
    assert asyncapi == asyncapi_document(discover())  # every installed service's channel
    assert asyncapi["asyncapi"] == "3.0.0"
    assert asyncapi["channels"]["registry"]["address"] == "cpts.registry.events"
    assert {t.replace(".", "_") for t in schemas} <= set(asyncapi["components"]["messages"])
