"""Bad input gets an RFC 9457 problem and changes nothing: wrong types, floats for money or
rates, unknown ids, another territory's ids, inconsistent fields, huge payloads."""

from __future__ import annotations

from typing import Any

import pytest
from funding_helpers import AJACCIO, PARIS, PROBLEM, Api
from sqlalchemy import func, select

from cpts_funding.storage.models import Achievement, Declaration, Flow, Funder, PolicyYear, Reallocation
from cpts_kit.outbox import OutboxEvent

ASK = {"cpts_id": AJACCIO, "year": 2023, "from_mission": "prevention", "to_mission": "access_to_care", "amount": "1"}
DECLARATION = {"cpts_id": AJACCIO, "fiscal_year": 2023, "sources": [{"category": "own_resources", "amount": "10"}]}

# (name, method, url, body overrides or a full body, expected status, field named in the errors or None)
FLOW_CASES: list[tuple[str, dict[str, Any], int, str | None]] = [
    ("float amount", {"amount": 12.5}, 422, "amount"),
    ("three decimals", {"amount": "12.345"}, 422, "amount"),
    ("negative amount", {"amount": "-5.00"}, 422, "amount"),
    ("zero amount", {"amount": "0"}, 422, "amount"),
    ("not a number", {"amount": "abc"}, 422, "amount"),
    ("not finite", {"amount": "NaN"}, 422, "amount"),
    ("too large", {"amount": "1000000000000.00"}, 422, "amount"),
    ("boolean amount", {"amount": True}, 422, "amount"),
    ("year as a string", {"fiscal_year": "2023"}, 422, "fiscal_year"),
    ("year as a float", {"fiscal_year": 2023.0}, 422, "fiscal_year"),
    ("year before the ACI", {"fiscal_year": 2018}, 422, "fiscal_year"),
    ("unknown kind", {"kind": "gift"}, 422, "kind"),
    ("unknown mission", {"mission": "yoga_classes"}, 422, "mission"),
    ("unknown part", {"part": "half"}, 422, "part"),
    ("not a date", {"date": "yesterday"}, 422, "date"),
    ("payment in the future", {"date": "2099-01-01", "fiscal_year": 2099}, 422, "date"),
    ("date far from the fiscal year", {"date": "2019-06-01"}, 422, "date"),
    ("functioning with a fixed part", {"mission": "functioning", "part": "fixed"}, 422, "part"),
    ("ACI mission money without part", {"part": "not_applicable"}, 422, "part"),
    ("unknown funder", {"funder_id": "00000000-0000-0000-0000-000000000000"}, 422, "funder_id"),
    ("unknown CPTS", {"cpts_id": "00000000-0000-0000-0000-000000000000"}, 422, "cpts_id"),
    ("extra field", {"budget": 12}, 422, "budget"),
    ("empty reference", {"funder_reference": "  "}, 422, "funder_reference"),
    ("huge reference", {"funder_reference": "x" * 101}, 422, "funder_reference"),
]


async def changes(api: Api) -> dict[str, int]:
    counts = {}
    async with api.db.sessionmaker() as session:
        for model in (Flow, Funder, Declaration, Reallocation, Achievement, PolicyYear, OutboxEvent):
            counts[model.__name__] = int(await session.scalar(select(func.count()).select_from(model)) or 0)
    return counts


def check(answer: Any, status: int, field: str | None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert problem["status"] == status and problem["type"].startswith("/problems/") and problem["detail"]
    if field is not None:
        assert field in {e["field"] for e in problem["errors"]}, problem


async def test_bad_flows_are_problems_and_change_nothing(seeded: Api) -> None:
    before = await changes(seeded)
    for name, overrides, status, field in FLOW_CASES:
        answer = await seeded.call("POST", "/v1/flows", json=seeded.flow(**overrides))
        try:
            check(answer, status, field)
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from exc
    missing = seeded.flow()
    del missing["amount"]
    check(await seeded.call("POST", "/v1/flows", json=missing), 422, "amount")
    check(await seeded.call("POST", "/v1/flows", json=[seeded.flow()]), 422, None)
    check(
        await seeded.call("POST", "/v1/flows", content=b"{not json", headers={"Content-Type": "application/json"}),
        422,
        None,
    )
    huge = b"x" * (seeded.settings.max_body_bytes + 1)
    answer = await seeded.call("POST", "/v1/flows", content=huge, headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and answer.json()["type"] == "/problems/payload-too-large"
    # Another territory's CPTS is the same as an unknown one, for a CPAM of Corse-du-Sud.
    other = await seeded.call(
        "POST", "/v1/flows", role="cpam", claims={"departement": "2A"}, json=seeded.flow(cpts_id=PARIS)
    )
    check(other, 422, "cpts_id")
    assert other.json()["errors"][0]["code"] == "unknown_cpts"
    assert await changes(seeded) == before


async def test_other_bad_writes_change_nothing(seeded: Api) -> None:
    flow = await seeded.post_flow()
    before = await changes(seeded)
    cases: list[tuple[str, str, Any, int, str | None]] = [
        ("POST", "/v1/declarations", {**DECLARATION, "sources": []}, 422, "sources"),
        (
            "POST",
            "/v1/declarations",
            {**DECLARATION, "sources": [{"category": "own_resources", "amount": 10.5}]},
            422,
            "sources.0.amount",
        ),
        (
            "POST",
            "/v1/declarations",
            {**DECLARATION, "sources": [{"category": "lottery", "amount": "1"}]},
            422,
            "sources.0.category",
        ),
        ("POST", "/v1/declarations", {**DECLARATION, "sources": DECLARATION["sources"] * 201}, 422, "sources"),
        ("POST", "/v1/declarations", {**DECLARATION, "cpts_id": "nope"}, 422, "cpts_id"),
        (
            "POST",
            "/v1/declarations",
            {**DECLARATION, "sources": [{"category": "pharma", "amount": "1", "funder_id": "nope"}]},
            422,
            "sources.0.funder_id",
        ),
        ("PUT", f"/v1/cpts/{AJACCIO}/achievements/2023", {"rates": {"prevention": 0.5}}, 422, "rates.prevention"),
        ("PUT", f"/v1/cpts/{AJACCIO}/achievements/2023", {"rates": {"prevention": "1.5"}}, 422, "rates.prevention"),
        ("PUT", f"/v1/cpts/{AJACCIO}/achievements/2023", {"rates": {"prevention": "0.12345"}}, 422, "rates.prevention"),
        ("PUT", f"/v1/cpts/{AJACCIO}/achievements/2023", {"rates": {"functioning": "1"}}, 422, None),
        ("PUT", f"/v1/cpts/{AJACCIO}/achievements/2023", {"rates": {}}, 422, "rates"),
        ("PUT", f"/v1/cpts/{AJACCIO}/achievements/year", {"rates": {"prevention": "1"}}, 422, "year"),
        ("PUT", "/v1/cpts/nope/achievements/2023", {"rates": {"prevention": "1"}}, 404, None),
        ("PUT", "/v1/parameters/policy/2023", {"variable_share": 0.6}, 422, "variable_share"),
        ("PUT", "/v1/parameters/policy/2023", {"fungibility_national_cap": "-1"}, 422, "fungibility_national_cap"),
        (
            "PUT",
            "/v1/parameters/policy/2023",
            {"functioning_reduction": [{"from_maturity": -1, "reduction": "0.1"}]},
            422,
            None,
        ),
        ("PUT", "/v1/parameters/aci/Bad Id", {}, 422, None),
        (
            "PUT",
            "/v1/parameters/aci/v2",
            {"label": "x", "effective_from": "2024-01-01", "source": "s", "tiers": []},
            422,
            None,
        ),
        ("POST", "/v1/reallocations", {**ASK, "from_mission": "functioning"}, 422, "from_mission"),
        ("POST", "/v1/reallocations", {**ASK, "amount": 1.5}, 422, "amount"),
        ("POST", "/v1/reallocations", {**ASK, "year": "2023"}, 422, "year"),
        ("POST", "/v1/reallocations", {**ASK, "cpts_id": PARIS}, 422, None),  # fine for cnam: see below
        ("POST", f"/v1/flows/{flow['id']}/reversal", {"date": "2023-04-01"}, 422, "reason"),
        ("POST", f"/v1/flows/{flow['id']}/reversal", {"date": "2023-04-01", "reason": "x", "amount": "1"}, 422, None),
        ("POST", "/v1/flows/nope/reversal", {"date": "2023-04-01", "reason": "xx"}, 404, None),
        ("POST", "/v1/funders", {"name": "X", "category": "aci"}, 422, "name"),
        ("POST", "/v1/funders", {"name": "Some funder", "category": "lottery"}, 422, "category"),
    ]
    for method, url, body, status, field in cases:
        role, claims = ("cnam", None)
        if body is not None and body == {**ASK, "cpts_id": PARIS}:
            role, claims = "ars", {"region": "94"}  # Paris is outside Corse
        answer = await seeded.call(method, url, role=role, claims=claims, json=body)
        try:
            check(answer, status, field)
        except AssertionError as exc:
            raise AssertionError(f"{method} {url} {body}: {exc}") from exc
    assert await changes(seeded) == before


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"year": "abc"}, 422, "year"),
        ({"year": 2023.5}, 422, "year"),
        ({"region": "9"}, 422, "region"),
        ({"departement": "2C"}, 422, "departement"),
        ({"region": "94", "departement": "2A"}, 422, None),
        ({"year": 2023, "year_from": 2022}, 422, None),
        ({"year_from": 2024, "year_to": 2022}, 422, None),
        ({"region": "99"}, 404, None),
        ({"departement": "99"}, 404, None),
        ({"cpts": "nope"}, 404, None),
        ({"funder_category": "lottery"}, 422, "funder_category"),
    ],
)
async def test_bad_analytics_queries(seeded: Api, params: dict[str, Any], status: int, field: str | None) -> None:
    check(await seeded.call("GET", "/v1/analytics/funding", params=params), status, field)


async def test_bad_reads(seeded: Api) -> None:
    check(await seeded.call("GET", "/v1/flows", params={"limit": 0}), 422, "limit")
    check(await seeded.call("GET", "/v1/flows", params={"limit": 501}), 422, "limit")
    check(await seeded.call("GET", "/v1/flows", params={"kind": "gift"}), 422, "kind")
    check(await seeded.call("GET", "/v1/flows/00000000-0000-0000-0000-000000000000"), 404, None)
    check(await seeded.call("GET", "/v1/declarations/nope"), 404, None)
    check(await seeded.call("GET", "/v1/reallocations/nope"), 404, None)
    check(await seeded.call("GET", f"/v1/cpts/{AJACCIO}/envelopes/1999"), 422, "year")
    check(await seeded.call("GET", f"/v1/cpts/{AJACCIO}/schedules/2023", params={"as_of": "soon"}), 422, "as_of")
    check(await seeded.call("GET", "/v1/parameters/aci/unknown-version"), 404, None)
    assert (await seeded.client.get("/v1/flows")).status_code == 401
    forged = await seeded.client.get("/v1/flows", headers={"Authorization": "Bearer not.a.token"})
    check(forged, 401, None)
    check(await seeded.call("GET", "/v1/flows", role="cpts"), 401, None)  # a CPTS token without its CPTS
