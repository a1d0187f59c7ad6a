"""Territorial access from the service's one access table: for every permission of ``ACCESS``,
every role inside and outside its territory. Another territory's CPTS answers 404 (like a
missing one), lists count only what the caller sees, a role without the permission gets a 403,
and a refused request changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from indicators_helpers import AJACCIO, CAEN, PARIS, PROBLEM, Api, dialogue, envelope_computed, measurement, project
from sqlalchemy import func, select

from cpts_indicators.access import ACCESS
from cpts_indicators.storage import models
from cpts_kit.auth import Role
from cpts_kit.outbox import OutboxEvent

ROLES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("cnam", {}, {AJACCIO, PARIS, CAEN}),
    ("dgos", {}, {AJACCIO, PARIS, CAEN}),
    ("auditor", {}, {AJACCIO, PARIS, CAEN}),
    ("integrator", {}, {AJACCIO, PARIS, CAEN}),
    ("ars", {"region": "94"}, {AJACCIO}),
    ("ars", {"region": "11"}, {PARIS}),
    ("cpam", {"departement": "2A"}, {AJACCIO}),
    ("cpam", {"departement": ["2B", "75"]}, {PARIS}),
    ("cpam", {"departement": "2B"}, set()),
    ("cpts", {"cpts": AJACCIO}, {AJACCIO}),
]

Call = Callable[[Api, str, dict[str, Any], str], Awaitable[httpx.Response]]


def _catalogue_body(document: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in document.items() if k not in ("version", "shipped", "loaded_by", "loaded_at")}
    return body | {"effective_year": 2030, "illustrative": False, "label": "A version loaded in a test"}


async def _shipped(api: Api) -> dict[str, Any]:
    version = (await api.call("GET", "/v1/catalogue")).json()[0]["version"]
    document: dict[str, Any] = (await api.call("GET", f"/v1/catalogue/{version}")).json()
    return document


def _dialogue_id(api: Api, cpts_id: str) -> str:
    return api.dialogues[cpts_id]  # type: ignore[attr-defined,no-any-return]


# Each action: (is it about one CPTS, the call, the status when allowed).
CALLS: dict[str, tuple[bool, Call, int]] = {
    "catalogue.read": (False, lambda a, r, c, _: a.call("GET", "/v1/catalogue", role=r, claims=c), 200),
    "catalogue.load": (
        False,
        lambda a, r, c, _: _load(a, r, c),
        201,
    ),
    "targets.read": (True, lambda a, r, c, i: a.call("GET", f"/v1/cpts/{i}/targets/2023", role=r, claims=c), 200),
    "targets.set": (
        True,
        lambda a, r, c, i: a.call(
            "PUT",
            f"/v1/cpts/{i}/targets/2023",
            role=r,
            claims=c,
            json={"indicators": [{"indicator": "prevention.actions"}]},
        ),
        200,
    ),
    "measurement.read": (True, lambda a, r, c, i: a.call("GET", f"/v1/cpts/{i}/measurements", role=r, claims=c), 200),
    "measurement.record": (
        True,
        lambda a, r, c, i: a.call(
            "POST",
            f"/v1/cpts/{i}/measurements",
            role=r,
            claims=c,
            json=measurement("prevention.actions", "3", "declarative"),
        ),
        201,
    ),
    "achievement.read": (
        True,
        lambda a, r, c, i: a.call("GET", f"/v1/cpts/{i}/achievement/2023", role=r, claims=c),
        200,
    ),
    "dialogue.read": (
        True,
        lambda a, r, c, i: a.call("GET", f"/v1/cpts/{i}/dialogues/{_dialogue_id(a, i)}", role=r, claims=c),
        200,
    ),
    "dialogue.record": (
        True,
        lambda a, r, c, i: a.call("POST", f"/v1/cpts/{i}/dialogues", role=r, claims=c, json=dialogue(year=2023)),
        201,
    ),
    "dialogue.validate": (
        True,
        lambda a, r, c, i: a.call("POST", f"/v1/cpts/{i}/dialogues/{_dialogue_id(a, i)}/validation", role=r, claims=c),
        200,
    ),
    "dialogues.missing": (
        False,
        lambda a, r, c, _: a.call("GET", "/v1/dialogues/missing?year=2023&as_of=2024-12-31", role=r, claims=c),
        200,
    ),
    "analytics.activity": (
        False,
        lambda a, r, c, _: a.call("GET", "/v1/analytics/activity?year=2023", role=r, claims=c),
        200,
    ),
}


async def _load(api: Api, role: str, claims: dict[str, Any]) -> httpx.Response:
    body = _catalogue_body(await _shipped(api))
    return await api.call("PUT", f"/v1/catalogue/test-{role}", role=role, claims=claims, json=body)


async def _state(api: Api) -> list[Any]:
    """Everything a refused request could have changed: every table's rows, and the outbox
    (no event either)."""
    tables = [
        models.CatalogueVersion,
        models.TargetSet,
        models.TargetRow,
        models.TargetAdjustment,
        models.Measurement,
        models.FrozenAchievement,
        OutboxEvent,
    ]
    async with api.db.sessionmaker() as session:
        state: list[Any] = [await session.scalar(select(func.count()).select_from(t)) for t in tables]
        dialogues = await session.scalars(select(models.Dialogue).order_by(models.Dialogue.dialogue_id))
        state += [(d.dialogue_id, d.ars_validated_by, d.cpam_validated_by) for d in dialogues]
    return state


def test_every_action_of_the_table_is_tested() -> None:
    assert {p.action for p in ACCESS} == set(CALLS)


def _label(role: str, claims: dict[str, Any]) -> str:
    return role + "-" + "-".join(str(v) for v in claims.values())


@pytest.mark.parametrize(("role", "claims", "sees"), ROLES, ids=[_label(r, c) for r, c, _ in ROLES])
async def test_every_permission_for_every_role_inside_and_outside(
    seeded: Api, role: str, claims: dict[str, Any], sees: set[str]
) -> None:
    await project(seeded.db, seeded.settings, [envelope_computed(PARIS, 2023)])
    # A 2022 dialogue per CPTS, for the reads and the validations.
    seeded.dialogues = {}  # type: ignore[attr-defined]
    for cpts_id in (AJACCIO, PARIS):
        held = await seeded.call(
            "POST", f"/v1/cpts/{cpts_id}/dialogues", json=dialogue(year=2022, held_on="2023-02-01")
        )
        assert held.status_code == 201, held.text
        seeded.dialogues[cpts_id] = held.json()["dialogue_id"]  # type: ignore[attr-defined]
    caller = Role(role)
    for permission in ACCESS:
        about_cpts, call, success = CALLS[permission.action]
        allowed = caller in permission.roles
        targets = (AJACCIO, PARIS) if about_cpts else ("",)
        for cpts_id in targets:
            if about_cpts and cpts_id not in sees:
                expected = 404
            elif not allowed:
                expected = 403
            else:
                expected = success
            before = await _state(seeded)
            answer = await call(seeded, role, claims, cpts_id)
            assert answer.status_code == expected, (permission.action, cpts_id, answer.text)
            if expected >= 400:
                assert answer.headers["content-type"] == PROBLEM
                assert await _state(seeded) == before, (permission.action, cpts_id)
            elif permission.action in ("dialogues.missing", "analytics.activity"):
                national = await call(seeded, "cnam", {}, cpts_id)
                everyone = {item["cpts_id"] for item in national.json()["items"]}
                listed = {item["cpts_id"] for item in answer.json()["items"]}
                assert listed == everyone & sees and answer.json()["total"] == len(listed), permission.action


async def test_missing_or_bad_tokens_are_refused(seeded: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        answer = await seeded.client.get(f"/v1/cpts/{AJACCIO}/achievement/2023", headers=headers)
        assert answer.status_code == 401 and answer.headers["content-type"] == PROBLEM
