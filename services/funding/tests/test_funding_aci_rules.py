"""The ACI rules of issue 12 through the API, on hand-computed cases: avenant 2 (start-up
functioning, crisis mission in full its first year then 50 %), the contract's missions and
their start dates, the signatories-only rule with its exceptions, money paid above the
maximum, versioned policy levers and closed years, the date-aware ACI/FIR overlaps, the
achievement rates published by the indicators service and the administrator's override."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from funding_helpers import AJACCIO, CAEN, PARIS, Api, project, signatory_events, status_changed
from sqlalchemy import select

from cpts_funding.events import peers
from cpts_kit.events import CloudEvent
from cpts_kit.inbox import EventConsumer
from cpts_kit.outbox import OutboxEvent

LYON = "66666666-6666-4666-8666-666666666666"


async def outbox_types(api: Api) -> list[str]:
    async with api.db.sessionmaker() as session:
        return list((await session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.seq))).all())


async def outbox_of(api: Api, event_type: str) -> list[dict[str, Any]]:
    async with api.db.sessionmaker() as session:
        rows = await session.scalars(select(OutboxEvent).where(OutboxEvent.type == event_type))
        return [json.loads(r.body)["data"] for r in rows]


async def envelope(api: Api, cpts_id: str, year: int) -> dict[str, Any]:
    answer = await api.call("GET", f"/v1/cpts/{cpts_id}/envelopes/{year}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def line(view: dict[str, Any], mission: str) -> dict[str, Any] | None:
    return next((m for m in view["missions"] if m["mission"] == mission), None)


async def test_avenant_2_start_up_functioning_and_crisis_first_year_then_updates(seeded: Api) -> None:
    """A T1 CPTS signed on 1 June 2022: its first contract year runs to 31 May 2023, whole."""
    await project(
        seeded.db,
        seeded.settings,
        signatory_events(
            LYON,
            name="CPTS Lyon 8",
            region="84",
            departement="69",
            population=30_000,
            size_tier="T1",
            signed_on=date(2022, 6, 1),
            siren="552032534",
        ),
    )
    first = await envelope(seeded, LYON, 2022)
    assert first["parameters"]["version"] == "illustrative-avenant-2" and first["signature_year"] is True
    assert (first["contract_year_start"], first["contract_year_end"], first["aci_days"]) == (
        "2022-06-01",
        "2023-05-31",
        365,
    )
    # Functioning in full at the signature, at the start-up amount (+75 %): not prorated.
    assert first["functioning"]["base"] == "87500.00" and first["functioning"]["amount"] == "87500.00"
    assert first["functioning"]["startup_top_up"] == "0.00"  # signed under avenant 2: nothing to top up
    crisis = line(first, "crisis_response")
    assert crisis is not None and crisis["fixed"] == "25000.00"  # the crisis plan's first year, in full
    access = line(first, "access_to_care")
    assert access is not None
    assert (access["fixed"], access["snp_compensation"], access["variable_max"]) == ("30000.00", "10000.00", "30000.00")
    # 87,500 + (30,000 + 10,000 + 30,000) + 2 × 17,000 + 2 × 12,000 + 4 × 10,500 + 25,000
    assert first["totals"]["maximum"] == "282500.00"
    second = await envelope(seeded, LYON, 2023)
    assert second["signature_year"] is False and second["functioning"]["amount"] == "50000.00"
    crisis = line(second, "crisis_response")
    assert crisis is not None and crisis["fixed"] == "12500.00"  # an update year: 50 %
    assert second["totals"]["maximum"] == "232500.00"  # 220,000 + 12,500
    # Before the JO of 31 March 2022 the version of 2019 applies: no crisis mission, no uplift.
    versions = (await seeded.call("GET", "/v1/parameters/aci")).json()["items"]
    avenant = next(v for v in versions if v["version"] == "illustrative-avenant-2")
    assert avenant["effective_from"] == "2022-03-31" and avenant["crisis_update_share"] == "0.5000"
    assert [t["startup_functioning"] for t in avenant["tiers"]] == ["87500.00", "105000.00", "131250.00", "157500.00"]
    assert [t["intention_letter_lump_sum"] for t in avenant["tiers"]] == [
        "15000.00",
        "17500.00",
        "25000.00",
        "30000.00",
    ]


async def test_a_cpts_signed_before_avenant_2_gets_the_start_up_top_up_once(seeded: Api) -> None:
    """Ajaccio (T2) signed on 15 March 2021: its first contract year under avenant 2 (from
    15 March 2022) owes the difference between the start-up and the ordinary functioning
    credits, 105,000 − 60,000, paid in full once the avenant is in force (31 March 2022)."""
    tops = {year: (await envelope(seeded, AJACCIO, year))["functioning"] for year in (2021, 2022, 2023)}
    assert [tops[y]["startup_top_up"] for y in (2021, 2022, 2023)] == ["0.00", "45000.00", "0.00"]
    assert [tops[y]["amount"] for y in (2021, 2022, 2023)] == ["60000.00", "105000.00", "60000.00"]
    schedule = (await seeded.call("GET", f"/v1/cpts/{AJACCIO}/schedules/2022")).json()
    functioning = [
        (d["due_on"], d["instalment"], d["amount"]) for d in schedule["instalments"] if d["mission"] == "functioning"
    ]
    assert functioning == [
        ("2022-03-15", "advance", "45000.00"),
        ("2022-03-31", "full", "45000.00"),
        ("2023-03-15", "balance", "15000.00"),
    ]


async def test_the_contract_funds_each_mission_from_its_start(seeded: Api) -> None:
    """Paris (T4) signed on 10 January 2020 (357 of the 366 days of 2020): access from the
    signature, prevention from 10 July 2020 (175 days), care pathways from 5 January 2021,
    no optional mission."""
    url = f"/v1/cpts/{PARIS}/contract"
    default = (await seeded.call("GET", url)).json()
    assert default["recorded"] is False and len(default["missions"]) == 6
    contract = {"missions": {"access_to_care": "2020-01-10", "prevention": "2020-07-10", "care_pathways": "2021-01-05"}}
    answer = await seeded.call("PUT", url, role="cpam", claims={"departement": "75"}, json=contract)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["recorded"] is True and [m["mission"] for m in body["missions"]] == [
        "access_to_care",
        "care_pathways",
        "prevention",
    ]
    assert (
        body["missions"][0]["start_deadline"] == "2020-07-10" and body["missions"][1]["start_deadline"] == "2021-01-10"
    )
    # The contract year of 2020 runs from 10 January 2020 to 9 January 2021 (366 days).
    first = await envelope(seeded, PARIS, 2020)
    assert (first["contract_year_end"], first["days_in_year"]) == ("2021-01-09", 366)
    assert first["functioning"]["amount"] == "90000.00"  # in full in the signature year (ACI art. 9.1)
    access, prevention, pathways = (line(first, m) for m in ("access_to_care", "prevention", "care_pathways"))
    assert access is not None and (access["fixed"], access["snp_compensation"]) == ("63000.00", "20000.00")
    # Prevention from 10 July 2020: 184 days, 27,000 × 184 / 366; care pathways from 5 January
    # 2021: 5 days, 35,000 × 5 / 366.
    assert prevention is not None and (prevention["fixed"], prevention["variable_max"]) == ("13573.77", "13573.77")
    assert pathways is not None and (pathways["fixed"], pathways["variable_max"]) == ("478.14", "478.14")
    assert line(first, "quality_relevance") is None and line(first, "professional_support") is None
    # 90,000 + (63,000 + 20,000 + 63,000) + 2 × 13,573.77 + 2 × 478.14
    assert first["totals"]["maximum"] == "264103.82"
    # The schedule pays each mission's fixed part from its own start.
    schedule = (await seeded.call("GET", f"/v1/cpts/{PARIS}/schedules/2020", params={"as_of": "2021-01-05"})).json()
    # 90,000 + 75 % of 83,000 + 75 % of 13,573.77 + 75 % of 478.14 (no indicator assessed)
    assert schedule["due_as_of"] == "162788.93"
    advances = {d["mission"]: d["due_on"] for d in schedule["instalments"] if d["instalment"] == "advance"}
    assert advances == {"access_to_care": "2020-01-10", "prevention": "2020-07-10", "care_pathways": "2021-01-05"}

    def refused(missions: dict[str, str]) -> Any:
        return seeded.call("PUT", url, json={"missions": missions})

    late = await refused({**contract["missions"], "access_to_care": "2020-08-01"})  # beyond 6 months
    assert late.status_code == 422 and "2020-07-10" in late.text
    missing = await refused({"access_to_care": "2020-01-10", "prevention": "2020-07-10"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "missions.care_pathways"
    assert (await seeded.call("PUT", f"/v1/cpts/{CAEN}/contract", json=contract)).status_code == 409
    assert (await seeded.call("GET", url)).json() == body  # the refused changes changed nothing


async def test_aci_only_for_signatories_with_the_texts_exceptions(seeded: Api) -> None:
    lump = seeded.flow(
        cpts_id=CAEN,
        mission="functioning",
        part="not_applicable",
        amount="15000.00",
        date="2022-05-02",
        fiscal_year=2022,
        aci_basis="intention_letter_lump_sum",
    )
    paid = await seeded.call("POST", "/v1/flows", json=lump)
    assert paid.status_code == 201 and paid.json()["aci_basis"] == "intention_letter_lump_sum"
    for overrides, code in (
        ({"amount": "15000.01"}, "above_lump_sum"),  # Caen is T1: 15,000
        ({"date": "2022-03-30"}, "no_lump_sum_in_force"),  # before the JO of avenant 2
        ({"mission": "prevention", "part": "fixed"}, "lump_sum_is_functioning"),
        ({"cpts_id": AJACCIO}, "lump_sum_before_contract_only"),
    ):
        refused = await seeded.call("POST", "/v1/flows", json={**lump, **overrides})
        assert refused.status_code == 422, refused.text
        assert refused.json()["exception_refused"] == code and refused.json()["rule"] == "aci_signatories_only"
    fir = await seeded.call(
        "POST", "/v1/flows", role="dgos", json=seeded.flow("fir", aci_basis="balance_under_contract")
    )
    assert fir.status_code == 422 and fir.json()["errors"][0]["code"] == "not_aci_money"
    # Ajaccio is suspended on 1 June 2024: the 2024 balance is still owed, nothing for 2025.
    await project(
        seeded.db,
        seeded.settings,
        [
            status_changed(
                AJACCIO,
                region="94",
                departement="2A",
                from_status="aci_signed",
                to_status="suspended",
                on=date(2024, 6, 1),
            )
        ],
    )
    balance = seeded.flow(fiscal_year=2024, date="2024-09-02")
    assert (await seeded.call("POST", "/v1/flows", json=balance)).status_code == 422
    owed = await seeded.call("POST", "/v1/flows", json={**balance, "aci_basis": "balance_under_contract"})
    assert owed.status_code == 201, owed.text
    later = {**balance, "fiscal_year": 2025, "date": "2025-02-03", "aci_basis": "balance_under_contract"}
    refused = await seeded.call("POST", "/v1/flows", json=later)
    assert refused.status_code == 422 and refused.json()["exception_refused"] == "no_period_under_contract"
    # Recoveries and reversals are always allowed.
    recovery = seeded.flow(kind="recovery", fiscal_year=2024, date="2024-09-03", amount="1.00")
    assert (await seeded.call("POST", "/v1/flows", json=recovery)).status_code == 201
    reversal = await seeded.call(
        "POST", f"/v1/flows/{owed.json()['id']}/reversal", json={"date": "2024-09-04", "reason": "paid twice"}
    )
    assert reversal.status_code == 201 and reversal.json()["reversal"]["aci_basis"] == "balance_under_contract"
    payments = await outbox_of(seeded, "fr.cpts.funding.payment.recorded.v1")
    assert [p["aci_basis"] for p in payments] == [
        "intention_letter_lump_sum",
        "balance_under_contract",
        "balance_under_contract",
    ]


async def test_paid_above_the_maximum_is_visible_and_published(seeded: Api) -> None:
    """Ajaccio's 2023 maximum is 302,000.00 (T2, crisis update year)."""
    first = await seeded.post_flow(mission="functioning", part="not_applicable", amount="300000.00")
    assert "fr.cpts.funding.envelope.over_maximum.v1" not in await outbox_types(seeded)
    second = await seeded.post_flow(mission="prevention", part="variable", amount="2000.01", date="2023-06-01")
    view = await envelope(seeded, AJACCIO, 2023)
    assert view["over_maximum"] is True and view["excess"] == "0.01"
    (event,) = await outbox_of(seeded, "fr.cpts.funding.envelope.over_maximum.v1")
    assert event["cpts_id"] == AJACCIO and event["region"] == "94" and event["departement"] == "2A"
    assert (event["year"], event["maximum"], event["paid"], event["excess"]) == (2023, "302000.00", "302000.01", "0.01")
    assert event["flow_ids"] == [first["id"], second["id"]]
    totals = (await seeded.call("GET", "/v1/analytics/funding", params={"year": 2023})).json()["aci_envelopes"]
    assert totals["over_maximum"] == 1 and totals["excess"] == "0.01"


async def test_policy_levers_are_versioned_and_a_closed_year_never_changes(seeded: Api) -> None:
    url = "/v1/parameters/policy/2025"
    first = await seeded.call("PUT", url, json={"variable_share": "0.6", "reason": "P6: a larger variable part"})
    assert first.status_code == 200 and first.json()["version"] == 1
    second = await seeded.call("PUT", url, role="dgos", json={"variable_share": "0.7", "reason": "Negotiated"})
    body = second.json()
    assert body["version"] == 2 and body["variable_share"] == "0.7000" and body["closed"] is False
    assert [(v["version"], v["reason"]) for v in body["history"]] == [
        (1, "P6: a larger variable part"),
        (2, "Negotiated"),
    ]
    assert body["history"][0]["author"] != "" and body["history"][1]["author"] != ""
    events = await outbox_of(seeded, "fr.cpts.funding.policy.versioned.v1")
    assert [(e["year"], e["version"], e["levers"]["variable_share"]) for e in events] == [
        (2025, 1, "0.6000"),
        (2025, 2, "0.7000"),
    ]
    assert (await seeded.call("PUT", url, json={"variable_share": "0.5"})).status_code == 422  # no reason
    # ACI money of 2025 paid: the year is closed.
    await seeded.post_flow(fiscal_year=2025, date="2025-03-15")
    closed = await seeded.call("PUT", url, json={"variable_share": "0.5", "reason": "Too late"})
    assert closed.status_code == 409 and closed.json()["type"] == "/problems/year-closed"
    after = (await seeded.call("GET", url)).json()
    assert after["version"] == 2 and after["variable_share"] == "0.7000" and after["closed"] is True
    assert len(await outbox_of(seeded, "fr.cpts.funding.policy.versioned.v1")) == 2


async def test_overlaps_count_only_money_after_the_signature(seeded: Api) -> None:
    """Paris signed on 10 January 2020: a FIR start-up grant before is the intended sequence."""
    await seeded.post_flow(cpts_id=PARIS, fiscal_year=2020, date="2020-03-02")
    before = {"cpts_id": PARIS, "mission": "prevention", "part": "not_applicable", "fiscal_year": 2020}
    await seeded.post_flow("fir", **before, date="2020-01-09", amount="30000")
    report = (await seeded.call("GET", "/v1/reports/aci-fir-overlaps", params={"year": 2020})).json()
    assert report["total"] == 0
    await seeded.post_flow("fir", **before, date="2020-01-10", amount="5000")
    report = (await seeded.call("GET", "/v1/reports/aci-fir-overlaps", params={"year": 2020})).json()
    assert report["total"] == 1 and report["items"][0]["fir_paid"] == "5000.00"


async def indicators_event(api: Api, validated: bool, rates: dict[str, str]) -> None:
    consumer = EventConsumer(
        api.db,
        api.settings,
        group_id=peers.INDICATORS_GROUP,
        topics=[peers.INDICATORS_TOPIC],
        handler=peers.achievement_handler(api.settings),
    )
    await consumer.apply(
        CloudEvent(
            source="/cpts/indicators",
            type=peers.ACHIEVEMENT_COMPUTED,
            subject=AJACCIO,
            data={
                "cpts_id": AJACCIO,
                "region": "94",
                "departement": "2A",
                "year": 2023,
                "catalogue_version": "2023.1",
                "validated": validated,
                "dialogue_id": None,
                "missions": [
                    {
                        "mission": mission,
                        "rate": rate,
                        "variable_maximum": None,
                        "variable_earned": None,
                        "indicators_count": 3,
                        "measurements_count": 5,
                        "declarative_share": "0.2000",
                    }
                    for mission, rate in rates.items()
                ],
            },
        )
    )


async def test_validated_achievement_drives_the_variable_part_and_an_override_wins(seeded: Api) -> None:
    await indicators_event(seeded, False, {"prevention": "1.0000"})
    assert line(await envelope(seeded, AJACCIO, 2023), "prevention")["variable_earned"] == "0.00"  # type: ignore[index]
    await indicators_event(seeded, True, {"prevention": "0.5000", "access_to_care": "0.2500"})
    view = await envelope(seeded, AJACCIO, 2023)
    assert line(view, "prevention")["variable_earned"] == "8500.00"  # type: ignore[index]  # 17,000 × 0.5
    assert line(view, "access_to_care")["variable_earned"] == "10000.00"  # type: ignore[index]  # 40,000 × 0.25
    computed = await outbox_of(seeded, "fr.cpts.funding.envelope.computed.v1")
    assert computed[-1]["theoretical"] == view["totals"]["theoretical"]
    override = await seeded.call("PUT", f"/v1/cpts/{AJACCIO}/achievements/2023", json={"rates": {"prevention": "1"}})
    assert override.status_code == 200
    await indicators_event(seeded, True, {"prevention": "0.1000", "access_to_care": "0.5000"})
    view = await envelope(seeded, AJACCIO, 2023)
    assert line(view, "prevention")["variable_earned"] == "17000.00"  # type: ignore[index]  # the override kept
    assert line(view, "access_to_care")["variable_earned"] == "20000.00"  # type: ignore[index]
