"""Events on a real Kafka-protocol broker (the embedded Tansu): the registry's, funding's and
documents' events feed the projections (duplicates absorbed), and every change of the
indicators service is one CloudEvent matching its published schema, keyed by the CPTS id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jsonschema
import pytest
from indicators_helpers import (
    AJACCIO,
    SIGNED,
    Api,
    dialogue,
    document_received,
    envelope_computed,
    make_settings,
    measurement,
    registered,
)

from cpts_indicators.main import create_app
from cpts_indicators.service import spec
from cpts_kit.broker import EmbeddedBroker, ensure_topics, make_producer, stop_client
from cpts_kit.events import CloudEvent
from cpts_kit.service import upgrade
from cpts_kit.testing import cloudevents, eventually, read_topic

TOPIC = "cpts.indicators.events"
CONTRACTS = Path(__file__).resolve().parents[3] / "contracts" / "events" / "indicators"
TOPICS = {
    "/cpts/registry": "cpts.registry.events",
    "/cpts/funding": "cpts.funding.events",
    "/cpts/documents": "cpts.documents.events",
}


@pytest.fixture
async def live(broker: EmbeddedBroker, tmp_path: Path) -> AsyncIterator[Api]:
    """The indicators service with its relay and its three consumers on the test's broker."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'indicators.db'}", tmp_path, broker.bootstrap)
    await upgrade(spec, settings.database_url)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://i") as client:
        yield Api(client, settings, app.state.db)


async def publish(api: Api, *events: CloudEvent) -> None:
    await ensure_topics(api.settings, list(TOPICS.values()))
    producer = make_producer(api.settings)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(TOPICS[event.source], event.to_bytes(), key=event.subject.encode())
    finally:
        await stop_client(producer)


async def test_each_change_is_one_cloudevent_matching_its_schema(live: Api, broker: EmbeddedBroker) -> None:
    envelope = envelope_computed(AJACCIO, 2023)
    document = document_received(AJACCIO, "doc-ajaccio-1")
    # Each event twice: the inbox applies it once.
    await publish(live, registered(AJACCIO, SIGNED[AJACCIO]), envelope, envelope, document, document)

    async def projected() -> bool:
        achievement = await live.call("GET", f"/v1/cpts/{AJACCIO}/achievement/2023")
        return achievement.status_code == 200 and achievement.json()["missions"][0]["variable_maximum"] == "40000.00"

    await eventually(projected, "the registry's and funding's events reached the projections")

    async def document_known() -> bool:
        body = measurement("prevention.actions", "4", "document")
        answer = await live.call("POST", f"/v1/cpts/{AJACCIO}/measurements", json=body)
        return answer.status_code == 201

    await eventually(document_known, "the documents' event reached the projection")
    ars = {"role": "ars", "claims": {"region": "94"}}
    cpam = {"role": "cpam", "claims": {"departement": "2A"}}
    targets = {"indicators": [{"indicator": "prevention.actions"}, {"indicator": "access.mt_patients_found"}]}
    assert (await live.call("PUT", f"/v1/cpts/{AJACCIO}/targets/2023", json=targets, **ars)).status_code == 200
    body = measurement("access.mt_patients_found", "150")
    assert (await live.call("POST", f"/v1/cpts/{AJACCIO}/measurements", json=body)).status_code == 201
    held = await live.call("POST", f"/v1/cpts/{AJACCIO}/dialogues", json=dialogue(), **ars)
    validation = f"/v1/cpts/{AJACCIO}/dialogues/{held.json()['dialogue_id']}/validation"
    assert (await live.call("POST", validation, **ars)).status_code == 200
    assert (await live.call("POST", validation, **cpam)).status_code == 200

    messages = await read_topic(broker.bootstrap, TOPIC, expect=13)
    events = cloudevents(messages)
    assert {m.key for m in messages} == {AJACCIO.encode()}
    for event in events:
        schema = json.loads((CONTRACTS / f"{event['type']}.json").read_text())
        jsonschema.validate(event["data"], schema)
        assert event["source"] == "/cpts/indicators" and event["subject"] == AJACCIO
    kinds = [e["type"].split(".")[3] + "." + e["type"].split(".")[4] for e in events]
    assert kinds == [
        "activity.assessed",  # the envelope: funded missions, none measured (published once: duplicate absorbed)
        "measurement.recorded",  # prevention.actions on a document
        "achievement.computed",
        "activity.assessed",  # prevention measured
        "targets.set",
        "achievement.computed",
        "measurement.recorded",
        "achievement.computed",
        "activity.assessed",  # access measured
        "dialogue.held",
        "activity.assessed",  # dialogue no longer missing
        "dialogue.held",  # validated by the ARS
        "dialogue.held",  # and by the CPAM
        "achievement.computed",  # validated: funding applies it
    ]
    final = events[-1]["data"]
    assert final["validated"] is True and final["dialogue_id"] == held.json()["dialogue_id"]
    missions = {m["mission"]: m for m in final["missions"]}
    # access: only mt_patients_found targeted, 150 / 300 = 0.5; prevention: 4 / 6 = 0.6667.
    assert (missions["access_to_care"]["rate"], missions["access_to_care"]["variable_earned"]) == ("0.5000", "20000.00")
    assert missions["prevention"]["rate"] == "0.6667" and missions["prevention"]["measurements_count"] == 1
    assert missions["care_pathways"] == missions["care_pathways"] | {"rate": "0.0000", "indicators_count": 0}
    assert events[-2]["data"]["validated_by_cpam"] is True and events[-3]["data"]["validated_by_cpam"] is False
