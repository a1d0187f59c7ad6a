"""Access from the shared table: every action of ``ACCESS`` x every role x inside/outside the
territory. Allowed roles get their answer inside their territory and see nothing outside
(404 for one resource, empty lists); other roles get a 403; a refused request changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from audit_helpers import CORSE_ID, PARIS_ID, Api, accounts, flagged, flow, registered
from sqlalchemy import func, select

from cpts_audit.access import ACCESS
from cpts_audit.storage.models import Finding, FindingTransition
from cpts_kit.auth import Role
from cpts_kit.outbox import OutboxEvent

INSIDE: dict[Role, dict[str, Any]] = {
    Role.ARS: {"region": "94"},
    Role.CPAM: {"departement": "2A"},
    Role.CPTS: {"cpts": CORSE_ID},
}
OUTSIDE: dict[Role, dict[str, Any]] = {
    Role.ARS: {"region": "11"},
    Role.CPAM: {"departement": "75"},
    Role.CPTS: {"cpts": PARIS_ID},
}
LISTS = {"finding.read:list", "finding.summary", "risk.rank", "report.missions", "rule.read"}


async def seed(api: Api) -> str:
    yoga = flagged(27, "604000", "Séance de yoga", "800.00", "leisure_or_culture")
    await api.project(
        [
            registered(CORSE_ID),
            flow(CORSE_ID, "aci", "1000.00"),
            accounts(CORSE_ID, {"assurance_maladie": "1000.00"}, flags=[yoga]),
        ]
    )
    page = (await api.call("GET", "/v1/findings")).json()
    assert page["total"] == 1
    return str(page["items"][0]["id"])


def requests(finding_id: str) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """The endpoints guarded by each action (``:list`` marks the list form of a read)."""
    return {
        "finding.read": [("GET", f"/v1/findings/{finding_id}", {}), ("GET", "/v1/findings", {"list": True})],
        "finding.update": [
            ("PATCH", f"/v1/findings/{finding_id}", {"json": {"status": "acknowledged", "reason": "Vu en dialogue"}})
        ],
        "finding.summary": [("GET", "/v1/findings/summary", {"list": True})],
        "risk.read": [("GET", f"/v1/cpts/{CORSE_ID}/risk", {})],
        "risk.rank": [("GET", "/v1/risk", {"list": True})],
        "report.missions": [("GET", "/v1/reports/missions", {"params": {"year": 2023}, "list": True})],
        "rule.read": [("GET", "/v1/rules", {"list": True})],
        "replay": [("POST", "/v1/replay", {})],
    }


async def state(api: Api) -> tuple[int, int, list[str]]:
    async with api.db.sessionmaker() as session:
        outbox = await session.scalar(select(func.count()).select_from(OutboxEvent)) or 0
        history = await session.scalar(select(func.count()).select_from(FindingTransition)) or 0
        statuses = list((await session.scalars(select(Finding.status))).all())
    return int(outbox), int(history), statuses


def test_every_action_has_requests() -> None:
    assert {p.action for p in ACCESS} == set(requests("x"))


@pytest.mark.parametrize("role", list(Role))
async def test_access_follows_the_table(api: Api, role: Role) -> None:
    finding_id = await seed(api)
    # The workflow step last: once the finding moved on, the test ends for that role.
    for permission in sorted(ACCESS, key=lambda p: p.action == "finding.update"):
        for method, url, options in requests(finding_id)[permission.action]:
            is_list = bool(options.get("list"))
            kwargs = {k: v for k, v in options.items() if k != "list"}
            for inside in (True, False):
                if role not in INSIDE and not inside:
                    continue  # national roles have no outside
                claims = (INSIDE if inside else OUTSIDE).get(role, {})
                before = await state(api)
                answer: httpx.Response = await api.call(method, url, role.value, claims, **kwargs)
                allowed = role in permission.roles
                what = f"{permission.action} {method} {url} as {role.value} {'inside' if inside else 'outside'}"
                if not allowed:
                    expected = (
                        {403} if (inside or is_list or permission.action in ("rule.read", "replay")) else {403, 404}
                    )
                    assert answer.status_code in expected, (what, answer.text)
                    assert answer.headers["content-type"] == "application/problem+json"
                    assert await state(api) == before, what
                elif permission.action == "replay":
                    assert answer.status_code == 503, (what, answer.text)  # no broker in this test
                elif inside or is_list:
                    assert answer.status_code == 200, (what, answer.text)
                    body = answer.json()
                    if is_list and not inside and isinstance(body, dict) and "total" in body:
                        assert body["total"] == 0, what
                    if is_list and not inside and permission.action == "report.missions":
                        assert all(m["aci_paid"] == "0.00" for m in body["missions"]), what
                else:
                    assert answer.status_code == 404, (what, answer.text)
                    assert await state(api) == before, what
                if method == "PATCH" and answer.status_code == 200:
                    back = await api.call("GET", url, "cnam")
                    assert back.json()["status"] == "acknowledged"
                    return


async def test_missing_or_bad_token(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        answer = await api.client.get("/v1/findings", headers=headers)
        assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"
