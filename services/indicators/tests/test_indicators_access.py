"""Territorial access from the service's one access table, driven by the kit's access matrix:
every action of ``ACCESS`` × every role × inside/outside the probed CPTS's territory. Another
territory's CPTS answers 404 (like a missing one), a role without the permission gets a 403, a
refused request changes nothing (every table, the outbox included), and lists count only what
the caller sees."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from indicators_helpers import AJACCIO, CAEN, PARIS, Api, dialogue, envelope_computed, measurement, project
from sqlalchemy import MetaData, select

from cpts_indicators.access import ACCESS
from cpts_kit.testing import PROBLEM, Caller, Probe, assert_access, caller_id, standard_callers

# Ajaccio (94 / 2A) is the probed CPTS; Paris (11 / 75) is the other territory.
CALLERS = standard_callers(region="94", departement="2A", other_region="11", other_departement="75")


async def _snapshot(api: Api) -> Callable[[], Awaitable[dict[str, list[str]]]]:
    """Every row of every table (the outbox included), like the kit's ``database_state``, but
    with the schema reflected once per test rather than once per probe: the reflection was most
    of the access tests' time (8 of them: 79 s before, 26 s after, --durations on this machine)."""
    metadata = MetaData()
    async with api.database.engine.connect() as conn:
        await conn.run_sync(metadata.reflect)
    tables = [table for name, table in sorted(metadata.tables.items()) if name != "alembic_version"]

    async def state() -> dict[str, list[str]]:
        async with api.database.engine.connect() as conn:
            return {t.name: sorted(repr(tuple(row)) for row in (await conn.execute(select(t))).all()) for t in tables}

    return state


def _catalogue_body(document: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in document.items() if k not in ("version", "shipped", "loaded_by", "loaded_at")}
    return body | {"effective_year": 2030, "illustrative": False, "label": "A version loaded in a test"}


async def _prepare(api: Api) -> tuple[dict[str, Any], str]:
    """The seeded CPTS, Paris's envelope, a 2022 dialogue of Ajaccio (for the reads and the
    validations), and the shipped catalogue (the body of a new version)."""
    await project(api.database, api.indicators_settings, [envelope_computed(PARIS, 2023)])
    held = await api.call("POST", f"/v1/cpts/{AJACCIO}/dialogues", json=dialogue(year=2022, held_on="2023-02-01"))
    assert held.status_code == 201, held.text
    version = (await api.call("GET", "/v1/catalogue")).json()[0]["version"]
    shipped: dict[str, Any] = (await api.call("GET", f"/v1/catalogue/{version}")).json()
    return shipped, held.json()["dialogue_id"]


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.label)
async def test_the_access_table_rules_every_endpoint(seeded: Api, caller: Caller) -> None:
    shipped, dialogue_id = await _prepare(seeded)
    cpts = f"/v1/cpts/{AJACCIO}"

    def scoped_list(action: str) -> dict[str, int]:
        # A list is never another territory's resource: it answers, counting only what the caller sees.
        return {"outside": 200 if ACCESS.allows(caller.role, action) else 403}

    probes = {
        "catalogue.read": [
            Probe("GET", "/v1/catalogue", outside=200),
            Probe("GET", f"/v1/catalogue/{shipped['version']}", outside=200),
        ],
        "catalogue.load": Probe("PUT", "/v1/catalogue/test-load", json=_catalogue_body(shipped), ok=201, outside=403),
        "targets.read": Probe("GET", f"{cpts}/targets/2023", AJACCIO),
        "targets.set": Probe(
            "PUT", f"{cpts}/targets/2023", AJACCIO, json={"indicators": [{"indicator": "prevention.actions"}]}
        ),
        "measurement.read": Probe("GET", f"{cpts}/measurements", AJACCIO),
        "measurement.record": Probe(
            "POST", f"{cpts}/measurements", AJACCIO, json=measurement("prevention.actions", "3", "declarative"), ok=201
        ),
        "achievement.read": Probe("GET", f"{cpts}/achievement/2023", AJACCIO),
        "dialogue.read": [
            Probe("GET", f"{cpts}/dialogues", AJACCIO),
            Probe("GET", f"{cpts}/dialogues/{dialogue_id}", AJACCIO),
        ],
        "dialogue.record": Probe("POST", f"{cpts}/dialogues", AJACCIO, json=dialogue(year=2023), ok=201),
        "dialogue.validate": Probe("POST", f"{cpts}/dialogues/{dialogue_id}/validation", AJACCIO),
        "dialogues.missing": Probe(
            "GET",
            "/v1/dialogues/missing",
            params={"year": "2023", "as_of": "2024-12-31"},
            **scoped_list("dialogues.missing"),
        ),
        "analytics.activity": Probe(
            "GET", "/v1/analytics/activity", params={"year": "2023"}, **scoped_list("analytics.activity")
        ),
    }
    await assert_access(seeded, ACCESS, probes, caller, state=await _snapshot(seeded))


ROLES: list[tuple[str, dict[str, Any], set[str]]] = [
    # role, territory claims, which CPTS it sees
    ("cnam", {}, {AJACCIO, PARIS, CAEN}),
    ("auditor", {}, {AJACCIO, PARIS, CAEN}),
    ("ars", {"region": "94"}, {AJACCIO}),
    ("ars", {"region": "11"}, {PARIS}),
    ("cpam", {"departement": "2A"}, {AJACCIO}),
    ("cpam", {"departement": ["2B", "75"]}, {PARIS}),
    ("cpam", {"departement": "2B"}, set()),
]


@pytest.mark.parametrize(("role", "claims", "sees"), ROLES, ids=[caller_id(r, c) for r, c, _ in ROLES])
async def test_lists_count_only_the_callers_territory(
    seeded: Api, role: str, claims: dict[str, Any], sees: set[str]
) -> None:
    for url in ("/v1/dialogues/missing?year=2023&as_of=2024-12-31", "/v1/analytics/activity?year=2023"):
        everyone = {item["cpts_id"] for item in (await seeded.call("GET", url)).json()["items"]}
        assert {AJACCIO, PARIS, CAEN} <= everyone, url
        answer = (await seeded.call("GET", url, role=role, claims=claims)).json()
        listed = {item["cpts_id"] for item in answer["items"]}
        assert listed == everyone & sees and answer["total"] == len(listed), url
        for cpts_id in (AJACCIO, PARIS):
            read = await seeded.call("GET", f"/v1/cpts/{cpts_id}/achievement/2023", role=role, claims=claims)
            assert read.status_code == (200 if cpts_id in sees else 404), (cpts_id, read.text)


async def test_missing_or_bad_tokens_are_refused(seeded: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        answer = await seeded.client.get(f"/v1/cpts/{AJACCIO}/achievement/2023", headers=headers)
        assert answer.status_code == 401 and answer.headers["content-type"] == PROBLEM
