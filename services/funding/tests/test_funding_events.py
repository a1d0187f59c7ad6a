"""Events on a real Kafka-protocol broker (the embedded Tansu): the registry's events drive the
projection and the ACI-signatories-only rule (duplicates absorbed, a poison message
dead-lettered), and every change of the funding service is one CloudEvent matching its
published schema, keyed by the CPTS id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import jsonschema
import pytest
from funding_helpers import AJACCIO, Api, make_settings, project, registered, signatory_events, status_changed
from sqlalchemy import func, select

from cpts_funding.main import create_app
from cpts_funding.service import spec
from cpts_funding.storage.models import RegistryStatus
from cpts_kit.broker import EmbeddedBroker, ensure_topics, make_producer, stop_client
from cpts_kit.events import CloudEvent
from cpts_kit.service import upgrade
from cpts_kit.testing import cloudevents, eventually, read_topic

REGISTRY_TOPIC = "cpts.registry.events"
FUNDING_TOPIC = "cpts.funding.events"
CONTRACTS = Path(__file__).resolve().parents[3] / "contracts" / "events" / "funding"
NEW = "55555555-5555-4555-8555-555555555555"


@pytest.fixture
async def live(broker: EmbeddedBroker, tmp_path: Path) -> AsyncIterator[Api]:
    """The funding service with its outbox relay and its registry consumer on the test's broker."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'funding.db'}", tmp_path, broker.bootstrap)
    await upgrade(spec, settings.database_url)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://f") as client:
        yield Api(client, settings, app.state.db)


async def publish(api: Api, *messages: CloudEvent | bytes) -> None:
    """Produce registry-shaped messages to ``cpts.registry.events`` (key = CPTS id)."""
    await ensure_topics(api.settings, [REGISTRY_TOPIC])
    producer = make_producer(api.settings)
    await producer.start()
    try:
        for message in messages:
            if isinstance(message, CloudEvent):
                await producer.send_and_wait(REGISTRY_TOPIC, message.to_bytes(), key=message.subject.encode())
            else:
                await producer.send_and_wait(REGISTRY_TOPIC, message, key=NEW.encode())
    finally:
        await stop_client(producer)


async def test_aci_payments_follow_the_registry_events(live: Api, broker: EmbeddedBroker) -> None:
    cnam = await live.call("POST", "/v1/funders", json={"name": "Cnam", "category": "aci"})
    live.funders["aci"] = cnam.json()["id"]
    where = {"region": "94", "departement": "2A"}
    await publish(
        live,
        *signatory_events(NEW, name="CPTS Gravona", population=60_000, size_tier="T2", signed_on=None, **where),
    )
    envelope = f"/v1/cpts/{NEW}/envelopes/2023"

    payment = live.flow(cpts_id=NEW, date="2023-03-01")

    async def projected() -> bool:  # registered, then its health project validated (two events)
        answer = await live.call("POST", "/v1/flows", json=payment)
        return answer.status_code == 422 and answer.json().get("status_on_date") == "health_project_validated"

    await eventually(projected, "the CPTS and its status reached the projection")
    assert (await live.call("GET", envelope)).status_code == 200
    refused = await live.call("POST", "/v1/flows", json=payment)
    assert refused.status_code == 422 and refused.json()["type"] == "/problems/aci-signatories-only"
    assert refused.json()["status_on_date"] == "health_project_validated"

    signed = status_changed(
        NEW,
        **where,
        from_status="health_project_validated",
        to_status="aci_signed",
        on=date(2023, 2, 1),
        aci_signed_on=date(2023, 2, 1),
    )
    await publish(live, signed)

    async def signatory() -> bool:
        return bool((await live.call("GET", envelope)).json()["aci_days"] > 0)

    await eventually(signatory, "the signature reached the projection")
    accepted = await live.call("POST", "/v1/flows", json=payment)
    assert accepted.status_code == 201, accepted.text
    before = await live.call("POST", "/v1/flows", json={**payment, "date": "2023-01-31"})
    assert before.status_code == 422 and before.json()["rule"] == "aci_signatories_only"

    # The same event delivered again has no second effect; a poison message goes to the
    # dead-letter topic and the consumer keeps going.
    grown = CloudEvent(
        source="/cpts/registry",
        type="fr.cpts.registry.territory.updated.v1",
        subject=NEW,
        data={**where, "cpts_id": NEW, "communes": ["2A004"], "population": 90_000, "size_tier": "T3", "extra": 1},
    )
    await publish(live, signed, b"{not a cloud event", grown)

    async def regrown() -> bool:
        return bool((await live.call("GET", envelope)).json()["size_tier"] == "T3")

    await eventually(regrown, "the territory update reached the projection")
    async with live.db.sessionmaker() as session:
        statuses = await session.scalar(
            select(func.count()).select_from(RegistryStatus).where(RegistryStatus.cpts_id == NEW)
        )
    assert statuses == 3  # registered, validated, signed: the duplicate changed nothing
    dead = await read_topic(broker.bootstrap, REGISTRY_TOPIC + ".dlq", expect=1)
    assert [m.value for m in dead] == [b"{not a cloud event"]
    assert dict(dead[0].headers)["error"].startswith(b"not a CloudEvent")


async def test_each_change_is_one_cloudevent_matching_its_schema(live: Api, broker: EmbeddedBroker) -> None:
    await live.seed_three()
    await project(
        live.db,
        live.settings,
        [registered(NEW, name="CPTS Bis", region="94", departement="2A", population=1, size_tier="T1")],
    )
    # The levers first: once ACI money of 2023 is paid, the year is closed.
    levers = await live.call("PUT", "/v1/parameters/policy/2023", json={"fungibility_share": "0.1", "reason": "P3"})
    assert levers.status_code == 200, levers.text
    flow = await live.post_flow(amount="0.30")
    await live.post_flow(kind="allocation", amount="17000.00")
    await live.post_flow(kind="recovery", amount="0.10")
    await live.call("POST", f"/v1/flows/{flow['id']}/reversal", json={"date": "2023-04-01", "reason": "typo"})
    await live.call(
        "POST",
        "/v1/declarations",
        json={"cpts_id": AJACCIO, "fiscal_year": 2023, "sources": [{"category": "own_resources", "amount": "1.10"}]},
    )
    await live.call("PUT", f"/v1/cpts/{AJACCIO}/achievements/2023", json={"rates": {"prevention": "0.5"}})
    ask = {
        "cpts_id": AJACCIO,
        "year": 2023,
        "from_mission": "prevention",
        "to_mission": "access_to_care",
        "amount": "5",
    }
    await live.call("POST", "/v1/reallocations", json=ask)
    await live.call("POST", "/v1/flows", json=live.flow(amount=12.5))  # refused: publishes nothing

    messages = await read_topic(broker.bootstrap, FUNDING_TOPIC, expect=9)
    everything = cloudevents(messages)
    # The levers are not a CPTS's: their event is keyed by the year (another partition, maybe).
    policies = [e for e in everything if e["type"] == "fr.cpts.funding.policy.versioned.v1"]
    assert len(policies) == 1, [e["type"] for e in everything]
    policy = policies[0]
    assert policy["subject"] == "policy-2023" and policy["data"]["author"] and policy["data"]["reason"] == "P3"
    assert policy["data"]["version"] == 1 and policy["data"]["levers"]["fungibility_share"] == "0.1000"
    jsonschema.validate(policy["data"], json.loads((CONTRACTS / f"{policy['type']}.json").read_text()))
    events = [e for e in everything if e is not policy]
    assert [e["type"] for e in events] == [
        "fr.cpts.funding.payment.recorded.v1",
        "fr.cpts.funding.allocation.notified.v1",
        "fr.cpts.funding.recovery.recorded.v1",
        "fr.cpts.funding.payment.recorded.v1",
        "fr.cpts.funding.declaration.submitted.v1",
        "fr.cpts.funding.envelope.computed.v1",
        "fr.cpts.funding.reallocation.decided.v1",
        "fr.cpts.funding.envelope.computed.v1",
    ]  # one CPTS, one partition: in order; the refused flow published nothing
    for event in events:
        assert event["specversion"] == "1.0" and event["source"] == "/cpts/funding"
        assert event["subject"] == AJACCIO and event["data"]["cpts_id"] == AJACCIO and event["id"] and event["time"]
        assert event["data"]["region"] == "94" and event["data"]["departement"] == "2A"
        jsonschema.validate(event["data"], json.loads((CONTRACTS / f"{event['type']}.json").read_text()))
    assert [e["data"].get("amount") for e in events[:4]] == ["0.30", "17000.00", "0.10", "-0.30"]
    assert events[3]["data"]["reverses"] == flow["id"]
    assert events[6]["data"]["accepted"] is True and events[6]["data"]["amount"] == "5.00"
    assert events[7]["data"]["theoretical"] == "203000.00"
    assert {m.key for m in messages} == {AJACCIO.encode(), b"policy-2023"}
