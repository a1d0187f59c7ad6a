"""The published contracts are the code's: OpenAPI, event JSON Schemas and the documents
channel of the AsyncAPI document."""

from __future__ import annotations

import json
from pathlib import Path

from cpts_documents.main import create_app
from cpts_documents.service import spec
from cpts_kit.contracts import asyncapi_document, check_service, event_schemas
from cpts_kit.testing import assert_contracts_published

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts"


def test_openapi_file_matches_the_running_app() -> None:
    published = assert_contracts_published(spec, CONTRACTS)
    assert published == create_app(background=False).openapi(), "run `cpts contracts`"


def test_the_public_paths_are_there() -> None:
    paths = json.loads((CONTRACTS / "openapi" / "documents.json").read_text())["paths"]
    for path, method in [
        ("/v1/cpts/{cpts_id}/documents", "post"),
        ("/v1/cpts/{cpts_id}/documents", "get"),
        ("/v1/documents/{document_id}", "get"),
        ("/v1/documents/{document_id}/content", "get"),
        ("/v1/cpts/{cpts_id}/accounts/{year}", "get"),
        ("/v1/cpts/{cpts_id}/spending/{year}", "get"),
        ("/v1/completeness", "get"),
        ("/v1/requirements/{year}", "put"),
        ("/v1/completeness/overdue-check", "post"),
    ]:
        assert method in paths[path], f"{method.upper()} {path} missing"
    upload = paths["/v1/cpts/{cpts_id}/documents"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/octet-stream"} <= set(upload)


def test_event_schemas_and_the_asyncapi_channel_are_up_to_date() -> None:
    stale = check_service(spec, CONTRACTS)
    assert stale == [], "run `cpts contracts`"
    schemas = event_schemas(spec)
    assert set(schemas) == {
        "fr.cpts.documents.document.received.v1",
        "fr.cpts.documents.document.rejected.v1",
        "fr.cpts.documents.accounts.summarised.v1",
        "fr.cpts.documents.spending_statement.received.v1",
        "fr.cpts.documents.document.overdue.v1",
    }
    published = json.loads((CONTRACTS / "asyncapi.json").read_text())
    ours = asyncapi_document([spec])
    assert published["channels"]["documents"] == ours["channels"]["documents"]
    assert published["channels"]["documents"]["address"] == "cpts.documents.events"
    for name, message in ours["components"]["messages"].items():
        assert published["components"]["messages"][name] == message
