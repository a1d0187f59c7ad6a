"""Exports the public contracts: OpenAPI per service, a JSON Schema per event type, and an
AsyncAPI 3 document listing the channels. Tests fail when these files and the code differ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cpts_kit.service import ServiceSpec


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def openapi_document(spec: ServiceSpec) -> dict[str, Any]:
    return spec.create_app().openapi()


def event_schemas(spec: ServiceSpec) -> dict[str, dict[str, Any]]:
    out = {}
    for payload in spec.event_payloads():
        schema = payload.model_json_schema()
        schema["$id"] = f"{payload.event_type}.json"
        schema["title"] = payload.event_type
        out[payload.event_type] = schema
    return out


def asyncapi_document(specs: list[ServiceSpec]) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in specs:
        settings = spec.settings()
        refs = {}
        for event_type in event_schemas(spec):
            name = event_type.replace(".", "_")
            messages[name] = {
                "name": event_type,
                "title": event_type,
                "contentType": "application/cloudevents+json",
                "summary": f"CloudEvent 1.0 (structured mode) of type {event_type}; key = CPTS id",
                "payload": {"$ref": f"events/{spec.name}/{event_type}.json"},
            }
            refs[name] = {"$ref": f"#/components/messages/{name}"}
        channels[spec.name] = {
            "address": settings.topic,
            "description": f"Events of the {spec.name} service, key = CPTS id (one CPTS's events stay ordered)",
            "messages": refs,
        }
        operations[f"{spec.name}Publishes"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{spec.name}"},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "CPTS funding platform events",
            "version": "1.0.0",
            "description": "Every message is a CloudEvent 1.0 in structured JSON mode; `data` follows the schema "
            "of its type. Dead letters go to `<topic>.dlq` with `error` and `original-*` headers.",
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {"embedded": {"host": "127.0.0.1:19092", "protocol": "kafka"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def service_files(spec: ServiceSpec, out: Path) -> dict[Path, str]:
    """The contract files one service owns: its OpenAPI document and its event schemas."""
    files = {out / "openapi" / f"{spec.name}.json": _dump(openapi_document(spec))}
    for event_type, schema in event_schemas(spec).items():
        files[out / "events" / spec.name / f"{event_type}.json"] = _dump(schema)
    return files


def stale(files: dict[Path, str]) -> list[Path]:
    return [path for path, text in files.items() if not path.exists() or path.read_text() != text]


def check_service(spec: ServiceSpec, out: Path) -> list[Path]:
    """The files of one service that differ from its code (for that service's own tests)."""
    return stale(service_files(spec, out))


def export_all(specs: list[ServiceSpec], out: Path, *, check: bool = False) -> list[Path]:
    """Write the files of every service and the AsyncAPI document listing all channels (or,
    with ``check``, only compare); returns the paths that differed."""
    files: dict[Path, str] = {}
    for spec in specs:
        files |= service_files(spec, out)
    files[out / "asyncapi.json"] = _dump(asyncapi_document(specs))
    differing = stale(files)
    if not check:
        for path in differing:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path])
    return differing
