"""The funding service's HTTP contract on PostgreSQL and SQLite: migrations, funders, flows and
their corrections, the ACI-signatories-only rule, declarations, envelopes and achievements,
schedules, parameters and levers, reallocations, the overlap report, the CSV export and
idempotency."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from funding_helpers import AJACCIO, CAEN, CNAM_SIREN, PARIS, PROBLEM, Api
from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import create_async_engine

from cpts_funding.service import spec
from cpts_kit.outbox import OutboxEvent
from cpts_kit.service import upgrade


async def outbox(api: Api) -> list[dict[str, Any]]:
    async with api.db.sessionmaker() as session:
        rows = await session.scalars(select(OutboxEvent).order_by(OutboxEvent.seq))
        return [json.loads(r.body) for r in rows]


async def test_migrations_create_every_table_from_empty(database_url: str) -> None:
    await upgrade(spec, database_url)
    await upgrade(spec, database_url)  # a second run is a no-op
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    assert {
        "registry_cpts",
        "registry_status_history",
        "funders",
        "flows",
        "declarations",
        "declared_sources",
        "aci_parameter_versions",
        "aci_parameter_tiers",
        "aci_parameter_missions",
        "policy_levers",
        "policy_functioning_steps",
        "achievements",
        "reallocations",
        "outbox",
        "inbox",
        "idempotency_keys",
        "alembic_version",
    } <= tables


async def test_funders(seeded: Api) -> None:
    listed = (await seeded.call("GET", "/v1/funders")).json()
    assert listed["total"] == 4
    cnam = (await seeded.call("GET", "/v1/funders", params={"siren": CNAM_SIREN})).json()["items"][0]
    assert cnam["category"] == "aci" and cnam["category_label"] == "Assurance maladie (ACI)"
    assert (await seeded.call("GET", f"/v1/funders/{cnam['id']}", role="cpts", claims={"cpts": CAEN})).json() == cnam
    by_category = (await seeded.call("GET", "/v1/funders", params={"category": "pharma"})).json()
    assert [f["name"] for f in by_category["items"]] == ["Laboratoire Exemple"]
    assert (await seeded.call("GET", "/v1/funders", params={"name": "ars"})).json()["total"] == 1
    duplicate = await seeded.call(
        "POST", "/v1/funders", json={"name": "CNAM bis", "category": "aci", "siren": CNAM_SIREN}
    )
    assert duplicate.status_code == 409 and duplicate.json()["type"] == "/problems/duplicate-siren"
    bad = await seeded.call("POST", "/v1/funders", json={"name": "X corp", "category": "pharma", "siren": "123456789"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "siren"
    categories = (await seeded.call("GET", "/v1/funder-categories")).json()
    assert {c["code"] for c in categories if c["must_be_named"]} == {"private_company", "pharma", "foundation"}
    assert len(categories) == 12
    missions = (await seeded.call("GET", "/v1/missions")).json()
    assert [m["code"] for m in missions if m["conventional"]] == [
        "access_to_care",
        "care_pathways",
        "prevention",
        "crisis_response",
        "quality_relevance",
        "professional_support",
    ]
    assert (await seeded.call("GET", "/v1/funders/nope")).status_code == 404


async def test_record_read_and_list_flows(seeded: Api) -> None:
    created = await seeded.call("POST", "/v1/flows", json=seeded.flow())
    assert created.status_code == 201 and created.headers["location"] == f"/v1/flows/{created.json()['id']}"
    flow = created.json()
    assert flow["amount"] == "12500.50" and flow["region"] == "94" and flow["departement"] == "2A"
    assert flow["funder_category"] == "aci" and flow["reverses"] is None and flow["reversed_by"] is None
    assert (await seeded.call("GET", f"/v1/flows/{flow['id']}")).json() == flow
    await seeded.post_flow("fir", mission="functioning", part="not_applicable", amount="30000", date="2023-02-01")
    await seeded.post_flow(cpts_id=PARIS, fiscal_year=2022, date="2022-06-30", kind="allocation", part="fixed")
    listed = (await seeded.call("GET", "/v1/flows")).json()
    assert listed["total"] == 3 and [f["seq"] for f in listed["items"]] == sorted(f["seq"] for f in listed["items"])
    for params, expected in (
        ({"fiscal_year": 2023}, 2),
        ({"funder_category": "fir"}, 1),
        ({"kind": "allocation"}, 1),
        ({"region": "11"}, 1),
        ({"departement": "2A", "mission": "prevention"}, 1),
        ({"cpts_id": PARIS, "part": "fixed"}, 1),
        ({"funder_id": seeded.funders["aci"]}, 2),
    ):
        assert (await seeded.call("GET", "/v1/flows", params=params)).json()["total"] == expected, params
    assert (await seeded.call("GET", "/v1/flows", params={"limit": 1, "offset": 2})).json()["items"][0][
        "cpts_id"
    ] == PARIS
    assert [e["type"] for e in await outbox(seeded)] == [
        "fr.cpts.funding.payment.recorded.v1",
        "fr.cpts.funding.payment.recorded.v1",
        "fr.cpts.funding.allocation.notified.v1",
    ]


async def test_aci_money_goes_only_to_signatories(seeded: Api) -> None:
    not_signed = await seeded.call("POST", "/v1/flows", json=seeded.flow(cpts_id=CAEN))
    assert not_signed.status_code == 422 and not_signed.headers["content-type"] == PROBLEM
    problem = not_signed.json()
    assert problem["type"] == "/problems/aci-signatories-only" and problem["rule"] == "aci_signatories_only"
    assert problem["status_on_date"] == "health_project_validated" and "aci_signed" in problem["detail"]
    allocation = await seeded.call("POST", "/v1/flows", json=seeded.flow(cpts_id=CAEN, kind="allocation"))
    assert allocation.status_code == 422  # a commitment of ACI money is refused too
    # Ajaccio signed on 15 March 2021: refused the day before, accepted that day.
    before = seeded.flow(fiscal_year=2021, date="2021-03-14")
    assert (await seeded.call("POST", "/v1/flows", json=before)).status_code == 422
    assert (await seeded.call("POST", "/v1/flows", json={**before, "date": "2021-03-15"})).status_code == 201
    # FIR money may go to a CPTS before its ACI (start-up grant).
    fir = seeded.flow("fir", cpts_id=CAEN, mission="functioning", part="not_applicable")
    assert (await seeded.call("POST", "/v1/flows", role="dgos", json=fir)).status_code == 201
    assert (await seeded.call("GET", "/v1/flows")).json()["total"] == 2
    assert len(await outbox(seeded)) == 2  # refused flows published nothing


async def test_corrections_are_reversals_and_replacements(seeded: Api) -> None:
    original = await seeded.post_flow(amount="1000.10", mission="prevention")
    correction = await seeded.call(
        "POST",
        f"/v1/flows/{original['id']}/reversal",
        json={
            "date": "2023-04-01",
            "reason": "wrong mission",
            "replacement": seeded.flow(amount="1000.10", mission="care_pathways", date="2023-04-01"),
        },
    )
    assert correction.status_code == 201, correction.text
    reversal, replacement = correction.json()["reversal"], correction.json()["replacement"]
    assert reversal["amount"] == "-1000.10" and reversal["reverses"] == original["id"]
    assert reversal["kind"] == "payment" and reversal["mission"] == "prevention" and reversal["note"] == "wrong mission"
    assert replacement["amount"] == "1000.10" and replacement["mission"] == "care_pathways"
    assert (await seeded.call("GET", f"/v1/flows/{original['id']}")).json()["reversed_by"] == reversal["id"]
    totals = (await seeded.call("GET", "/v1/analytics/funding", params={"year": 2023})).json()
    assert totals["total"] == "1000.10"
    assert totals["by_mission"] == [{"key": "care_pathways", "amount": "1000.10"}]
    again = await seeded.call(
        "POST", f"/v1/flows/{original['id']}/reversal", json={"date": "2023-04-02", "reason": "xx"}
    )
    assert again.status_code == 409 and again.json()["reversed_by"] == reversal["id"]
    of_reversal = await seeded.call(
        "POST", f"/v1/flows/{reversal['id']}/reversal", json={"date": "2023-04-02", "reason": "x2"}
    )
    assert of_reversal.status_code == 409
    early = await seeded.call(
        "POST", f"/v1/flows/{replacement['id']}/reversal", json={"date": "2023-01-01", "reason": "xx"}
    )
    assert early.status_code == 422 and early.json()["errors"][0]["code"] == "before_original"
    # A replacement breaking a rule refuses the whole correction: nothing is written.
    bad = await seeded.call(
        "POST",
        f"/v1/flows/{replacement['id']}/reversal",
        json={"date": "2023-05-01", "reason": "to Caen", "replacement": seeded.flow(cpts_id=CAEN)},
    )
    assert bad.status_code == 422 and bad.json()["type"] == "/problems/aci-signatories-only"
    assert (await seeded.call("GET", "/v1/flows")).json()["total"] == 3
    assert (await seeded.call("GET", f"/v1/flows/{replacement['id']}")).json()["reversed_by"] is None


async def test_declarations_name_private_money_and_keep_versions(seeded: Api) -> None:
    body = {
        "cpts_id": AJACCIO,
        "fiscal_year": 2023,
        "sources": [
            {"category": "aci", "funder_id": seeded.funders["aci"], "amount": "250000.00"},
            {"category": "pharma", "funder_id": seeded.funders["pharma"], "amount": "4000.00"},
            {"category": "private_company", "funder_name": "Mutuelle du Sud", "amount": "1500.5"},
            {"category": "own_resources", "amount": "3200"},
        ],
    }
    first = await seeded.call("POST", "/v1/declarations", role="cpts", claims={"cpts": AJACCIO}, json=body)
    assert first.status_code == 201, first.text
    declaration = first.json()
    assert declaration["version"] == 1 and declaration["total"] == "258700.50"
    assert declaration["sources"][1]["funder_name"] == "Laboratoire Exemple"
    assert declaration["by_category"][0] == {"key": "aci", "amount": "250000.00"}
    unnamed = {**body, "sources": [{"category": "pharma", "amount": "10"}, {"category": "foundation", "amount": "1"}]}
    refused = await seeded.call("POST", "/v1/declarations", json=unnamed)
    assert refused.status_code == 422
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
        ("sources.0.funder_name", "unnamed_source"),
        ("sources.1.funder_name", "unnamed_source"),
    ]
    mismatch = {**body, "sources": [{"category": "fir", "funder_id": seeded.funders["pharma"], "amount": "10"}]}
    assert (await seeded.call("POST", "/v1/declarations", json=mismatch)).json()["errors"][0][
        "code"
    ] == "category_mismatch"
    second = await seeded.call("POST", "/v1/declarations", json={**body, "sources": body["sources"][:1]})
    assert second.json()["version"] == 2
    assert (await seeded.call("GET", "/v1/declarations")).json()["total"] == 2
    latest = (await seeded.call("GET", "/v1/declarations", params={"latest": "true"})).json()
    assert [d["version"] for d in latest["items"]] == [2]
    assert (await seeded.call("GET", f"/v1/declarations/{declaration['id']}")).json() == declaration
    events = [e for e in await outbox(seeded) if e["type"] == "fr.cpts.funding.declaration.submitted.v1"]
    assert [e["data"]["version"] for e in events] == [1, 2] and events[0]["subject"] == AJACCIO
    assert events[0]["data"]["sources"][2] == {
        "category": "private_company",
        "funder_id": None,
        "funder_name": "Mutuelle du Sud",
        "funder_siren": None,
        "amount": "1500.50",
    }


async def test_envelope_achievements_and_schedule(seeded: Api) -> None:
    url = f"/v1/cpts/{AJACCIO}/envelopes/2023"
    await seeded.post_flow(mission="functioning", part="not_applicable", amount="45000.00")
    await seeded.post_flow(mission="outside_missions", part="not_applicable", amount="10.00")
    envelope = (await seeded.call("GET", url)).json()
    assert envelope["illustrative"] is True and envelope["parameters"]["version"] == "illustrative-avenant-2"
    # Signed on 15 March 2021: the contract year of 2023 runs to 14 March 2024 (366 days).
    assert (envelope["size_tier"], envelope["maturity"], envelope["aci_days"]) == ("T2", 2, 366)
    assert (envelope["contract_year_start"], envelope["contract_year_end"]) == ("2023-03-15", "2024-03-14")
    assert envelope["functioning"] == {
        "base": "60000.00",
        "reduction": "0.0000",
        "amount": "60000.00",
        "startup_top_up": "0.00",
        "paid": "45000.00",
    }
    # 2023 is a crisis-plan update year (its first year was 2022): the crisis mission at 50 %.
    assert envelope["totals"]["maximum"] == "302000.00" and envelope["totals"]["theoretical"] == "194500.00"
    assert envelope["over_maximum"] is False and envelope["excess"] == "0.00"
    assert envelope["totals"]["paid"] == "45000.00" and envelope["totals"]["paid_outside_envelope"] == "10.00"
    assert envelope["totals"]["remaining"] == "149500.00"
    assessed = await seeded.call(
        "PUT",
        f"/v1/cpts/{AJACCIO}/achievements/2023",
        role="ars",
        claims={"region": "94"},
        json={"rates": {"prevention": "0.5"}},
    )
    assert assessed.status_code == 200, assessed.text
    prevention = next(m for m in assessed.json()["missions"] if m["mission"] == "prevention")
    assert prevention["achievement"] == "0.5000" and prevention["variable_earned"] == "8500.00"
    assert (await seeded.call("GET", url)).json()["totals"]["theoretical"] == "203000.00"
    computed = [e for e in await outbox(seeded) if e["type"] == "fr.cpts.funding.envelope.computed.v1"]
    assert len(computed) == 1 and computed[0]["data"]["theoretical"] == "203000.00"
    assert computed[0]["data"]["illustrative"] is True
    schedule = (await seeded.call("GET", f"/v1/cpts/{AJACCIO}/schedules/2023", params={"as_of": "2023-12-31"})).json()
    assert schedule["total"] == "203000.00" and schedule["paid"] == "45010.00"
    assert schedule["instalments"][0] == {
        "due_on": "2023-03-15",
        "mission": "functioning",
        "part": "not_applicable",
        "instalment": "advance",
        "amount": "45000.00",
    }
    assert schedule["due_as_of"] == "145875.00"  # 75 % of 60,000 + 75 % of 134,500 (fixed and SNP)
    assert schedule["outstanding_as_of"] == "100865.00"
    # No envelope where the CPTS never signed, nor before the ACI existed.
    caen = (await seeded.call("GET", f"/v1/cpts/{CAEN}/envelopes/2023")).json()
    assert caen["eligible"] is False and caen["totals"]["maximum"] == "0.00"
    refused = await seeded.call("PUT", f"/v1/cpts/{CAEN}/achievements/2023", json={"rates": {"prevention": "1"}})
    assert refused.status_code == 409 and refused.json()["type"] == "/problems/no-aci-envelope"
    assert (await seeded.call("GET", f"/v1/cpts/{AJACCIO}/envelopes/2019")).json()["aci_days"] == 0
    assert (await seeded.call("GET", f"/v1/cpts/{AJACCIO}/envelopes/2018")).status_code == 422
    assert (await seeded.call("GET", "/v1/cpts/unknown/envelopes/2023")).status_code == 404


OFFICIAL: dict[str, Any] = {
    "label": "Official amounts (test)",
    "effective_from": "2024-01-01",
    "source": "Arrêté de test",
    "tiers": [
        {
            "tier": "T1",
            "min_population": 0,
            "functioning": "40000.00",
            "missions": {"access_to_care": {"fixed": "10000", "variable": "5000"}},
        },
        {
            "tier": "T2",
            "min_population": 45000,
            "functioning": "55000.00",
            "snp_compensation": "1000.00",
            "missions": {"access_to_care": {"fixed": "20000", "variable": "10000"}},
        },
    ],
}


async def test_administrators_load_official_parameters_as_a_new_version(seeded: Api) -> None:
    versions = (await seeded.call("GET", "/v1/parameters/aci")).json()
    assert [(v["version"], v["illustrative"], v["builtin"]) for v in versions["items"]] == [
        ("illustrative-aci-2019", True, True),
        ("illustrative-avenant-2", True, True),
    ]
    assert versions["items"][1]["tiers"][3]["ceiling"] == "500000.00"
    assert (
        await seeded.call("PUT", "/v1/parameters/aci/official-2024", role="ars", claims={"region": "94"}, json=OFFICIAL)
    ).status_code == 403
    created = await seeded.call("PUT", "/v1/parameters/aci/official-2024", role="dgos", json=OFFICIAL)
    assert created.status_code == 201, created.text
    assert created.json()["illustrative"] is False and created.json()["builtin"] is False
    same = await seeded.call("PUT", "/v1/parameters/aci/official-2024", json=OFFICIAL)
    assert same.status_code == 200 and same.json() == created.json()
    changed = await seeded.call("PUT", "/v1/parameters/aci/official-2024", json={**OFFICIAL, "label": "Changed"})
    assert changed.status_code == 409 and changed.json()["type"] == "/problems/version-exists"
    shipped = await seeded.call("PUT", "/v1/parameters/aci/illustrative-avenant-2", json=OFFICIAL)
    assert shipped.status_code == 409
    broken = {**OFFICIAL, "tiers": [{**OFFICIAL["tiers"][0], "min_population": 10}]}
    inconsistent = await seeded.call("PUT", "/v1/parameters/aci/broken", json=broken)
    assert inconsistent.status_code == 422 and inconsistent.json()["errors"][0]["field"] == "tiers.0.min_population"
    assert (await seeded.call("GET", "/v1/parameters/aci/broken")).status_code == 404
    in_force = (await seeded.call("GET", "/v1/parameters/aci", params={"year": 2024})).json()["items"]
    assert [v["version"] for v in in_force] == ["official-2024"]
    # Ajaccio (50,000 inhabitants) is T2 under the new floors: 55,000 + 20,000 + 1,000 fixed, 10,000 variable.
    envelope = (await seeded.call("GET", f"/v1/cpts/{AJACCIO}/envelopes/2024")).json()
    assert envelope["illustrative"] is False and envelope["parameters"]["version"] == "official-2024"
    assert (envelope["size_tier"], envelope["totals"]["maximum"]) == ("T2", "86000.00")
    assert [m["mission"] for m in envelope["missions"]] == ["access_to_care"]
    assert (await seeded.call("GET", f"/v1/cpts/{AJACCIO}/envelopes/2023")).json()["illustrative"] is True


async def test_policy_levers_apply_to_their_year(seeded: Api) -> None:
    neutral = (await seeded.call("GET", "/v1/parameters/policy/2023")).json()
    assert neutral["set"] is False and neutral["functioning_reduction"] == []
    levers = {
        "functioning_reduction": [{"from_maturity": 0, "reduction": "0"}, {"from_maturity": 2, "reduction": "0.25"}],
        "variable_share": "0.6",
        "reason": "P4 and P6: functioning down with maturity, a larger variable part",
    }
    assert (
        await seeded.call("PUT", "/v1/parameters/policy/2023", role="cpam", claims={"departement": "2A"}, json=levers)
    ).status_code == 403
    put = await seeded.call("PUT", "/v1/parameters/policy/2023", json=levers)
    assert put.status_code == 200 and put.json()["set"] is True and put.json()["variable_share"] == "0.6000"
    envelope = (await seeded.call("GET", f"/v1/cpts/{AJACCIO}/envelopes/2023")).json()  # T2, maturity 2
    assert envelope["functioning"]["amount"] == "45000.00" and envelope["functioning"]["reduction"] == "0.2500"
    access = envelope["missions"][0]
    assert (access["fixed"], access["variable_max"]) == ("32000.00", "48000.00")
    assert envelope["totals"]["maximum"] == "287000.00"  # 302,000 (crisis update year) − 15,000
    # 2022: 287,000 + the crisis plan's first year (30,000) + the start-up top-up of a CPTS signed
    # before avenant 2 (105,000 − 60,000), no lever that year.
    first_under_avenant_2 = (await seeded.call("GET", f"/v1/cpts/{AJACCIO}/envelopes/2022")).json()
    assert first_under_avenant_2["functioning"]["startup_top_up"] == "45000.00"
    assert first_under_avenant_2["totals"]["maximum"] == "362000.00"
    replaced = await seeded.call(
        "PUT", "/v1/parameters/policy/2023", json={"variable_share": "0.5", "reason": "Back to half"}
    )
    assert replaced.json()["functioning_reduction"] == []
    twice = {
        "functioning_reduction": [{"from_maturity": 1, "reduction": "0.1"}, {"from_maturity": 1, "reduction": "0.2"}],
        "reason": "A mistake",
    }
    assert (await seeded.call("PUT", "/v1/parameters/policy/2023", json=twice)).status_code == 422


async def test_reallocations_are_decided_and_recorded(seeded: Api) -> None:
    ask = {
        "cpts_id": AJACCIO,
        "year": 2023,
        "from_mission": "prevention",
        "to_mission": "access_to_care",
        "amount": "10000",
    }
    closed = await seeded.call("POST", "/v1/reallocations", role="cpts", claims={"cpts": AJACCIO}, json=ask)
    assert closed.status_code == 201, closed.text
    assert closed.json()["decision"] == "refused" and closed.json()["reason_code"] == "fungibility_closed"
    await seeded.call(
        "PUT",
        "/v1/parameters/policy/2023",
        json={"fungibility_share": "0.1", "fungibility_national_cap": "50000", "reason": "P3: fungibility"},
    )
    accepted = (await seeded.call("POST", "/v1/reallocations", json=ask)).json()
    assert accepted["decision"] == "accepted" and accepted["reason_code"] == "within_cap"
    over = (
        await seeded.call(
            "POST", "/v1/reallocations", json={**ask, "from_mission": "care_pathways", "amount": "14200.01"}
        )
    ).json()
    assert over["decision"] == "refused" and over["reason_code"] == "exceeds_cpts_cap" and "24200.00" in over["reason"]
    envelope = (await seeded.call("GET", f"/v1/cpts/{AJACCIO}/envelopes/2023")).json()
    prevention = next(m for m in envelope["missions"] if m["mission"] == "prevention")
    assert (prevention["fixed"], prevention["reallocated"]) == ("7000.00", "-10000.00")
    assert envelope["totals"]["maximum"] == "302000.00"
    caen = (await seeded.call("POST", "/v1/reallocations", json={**ask, "cpts_id": CAEN})).json()
    assert caen["reason_code"] == "not_a_signatory"
    same = await seeded.call("POST", "/v1/reallocations", json={**ask, "to_mission": "prevention"})
    assert same.status_code == 422
    listed = (await seeded.call("GET", "/v1/reallocations", params={"cpts_id": AJACCIO})).json()
    assert [r["decision"] for r in listed["items"]] == ["refused", "accepted", "refused"]
    assert (await seeded.call("GET", f"/v1/reallocations/{accepted['id']}")).json() == accepted
    assert (await seeded.call("GET", "/v1/parameters/policy/2023")).json()["fungibility_used"] == "10000.00"
    types = [e["type"] for e in await outbox(seeded)]
    assert types.count("fr.cpts.funding.reallocation.decided.v1") == 4
    assert types.count("fr.cpts.funding.envelope.computed.v1") == 1  # the accepted one changed the envelope


async def test_aci_and_fir_on_the_same_mission_year_are_reported(seeded: Api) -> None:
    await seeded.post_flow(mission="prevention")
    await seeded.post_flow("fir", mission="prevention", part="not_applicable", amount="8000")
    await seeded.post_flow("fir", mission="functioning", part="not_applicable", amount="30000")  # no ACI there
    await seeded.post_flow(
        "fir", cpts_id=PARIS, mission="prevention", part="not_applicable", fiscal_year=2022, date="2022-05-05"
    )
    report = (await seeded.call("GET", "/v1/reports/aci-fir-overlaps", params={"year": 2023})).json()
    assert report["total"] == 1
    assert report["items"][0] == {
        "cpts_id": AJACCIO,
        "cpts_name": "CPTS du Pays Ajaccien",
        "region": "94",
        "departement": "2A",
        "fiscal_year": 2023,
        "mission": "prevention",
        "aci_allocated": "0.00",
        "aci_paid": "12500.50",
        "fir_allocated": "0.00",
        "fir_paid": "8000.00",
    }
    other = (
        await seeded.call(
            "GET", "/v1/reports/aci-fir-overlaps", params={"year": 2023}, role="ars", claims={"region": "11"}
        )
    ).json()
    assert other["total"] == 0


async def test_csv_export_is_streamed_and_scoped(seeded: Api) -> None:
    await seeded.post_flow(amount="0.10")
    await seeded.post_flow(amount="0.20", cpts_id=PARIS)
    answer = await seeded.call("GET", "/v1/exports/flows.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["amount"] for r in rows] == ["0.10", "0.20"]
    assert rows[0]["funder_siren"] == CNAM_SIREN and rows[0]["cpts_name"] == "CPTS du Pays Ajaccien"
    corse = await seeded.call("GET", "/v1/exports/flows.csv", role="ars", claims={"region": "94"})
    assert [r["cpts_id"] for r in csv.DictReader(io.StringIO(corse.text))] == [AJACCIO]
    filtered = await seeded.call("GET", "/v1/exports/flows.csv", params={"region": "11"})
    assert [r["amount"] for r in csv.DictReader(io.StringIO(filtered.text))] == ["0.20"]


async def test_idempotent_posts(seeded: Api) -> None:
    key = {"Idempotency-Key": "payment-2023-001"}
    first = await seeded.call("POST", "/v1/flows", json=seeded.flow(), headers=key)
    replay = await seeded.call("POST", "/v1/flows", json=seeded.flow(), headers=key)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    reused = await seeded.call("POST", "/v1/flows", json=seeded.flow(amount="1.00"), headers=key)
    assert reused.status_code == 422 and reused.json()["type"] == "/problems/idempotency-key-reused"
    declaration = {"cpts_id": AJACCIO, "fiscal_year": 2023, "sources": [{"category": "own_resources", "amount": "1"}]}
    for _ in range(2):
        answer = await seeded.call("POST", "/v1/declarations", json=declaration, headers={"Idempotency-Key": "decl-1"})
        assert answer.status_code == 201 and answer.json()["version"] == 1
    ask = {
        "cpts_id": AJACCIO,
        "year": 2023,
        "from_mission": "prevention",
        "to_mission": "access_to_care",
        "amount": "1",
    }
    ids = {
        (await seeded.call("POST", "/v1/reallocations", json=ask, headers={"Idempotency-Key": "r-1"})).json()["id"]
        for _ in range(2)
    }
    assert len(ids) == 1
    funder = {"name": "Région Corse bis", "category": "local_region"}
    ids = {
        (await seeded.call("POST", "/v1/funders", json=funder, headers={"Idempotency-Key": "f-1"})).json()["id"]
        for _ in range(2)
    }
    assert len(ids) == 1
    async with seeded.db.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 3  # one event per change
    assert (await seeded.call("GET", "/v1/flows")).json()["total"] == 1
    assert (await seeded.call("GET", "/v1/declarations")).json()["total"] == 1
