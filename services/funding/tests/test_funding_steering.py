"""Steering analytics (per group, on both bases) and the what-if simulator on the hand-built
dataset of test_funding_analytics, plus spending statements from the documents service; and
formula-safe cells in the CSV export."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from funding_helpers import AJACCIO, PARIS, Api
from test_funding_analytics import BASTIA, dataset

from cpts_funding.events import peers
from cpts_kit.events import CloudEvent
from cpts_kit.inbox import EventConsumer


async def steering(api: Api, role: str = "cnam", claims: dict[str, Any] | None = None, **params: Any) -> Any:
    answer = await api.call("GET", "/v1/analytics/steering", role=role, claims=claims, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def spending_statement(api: Api, cpts_id: str, region: str, departement: str, by_mission: dict[str, str]) -> None:
    consumer = EventConsumer(
        api.db,
        api.settings,
        group_id=peers.DOCUMENTS_GROUP,
        topics=[peers.DOCUMENTS_TOPIC],
        handler=peers.apply_spending,
    )
    total = sum((Decimal(v) for v in by_mission.values()), Decimal(0))
    await consumer.apply(
        CloudEvent(
            source="/cpts/documents",
            type=peers.SPENDING_STATEMENT,
            subject=cpts_id,
            data={
                "document_id": f"doc-{cpts_id}",
                "cpts_id": cpts_id,
                "region": region,
                "departement": departement,
                "fiscal_year": 2023,
                "spending": {"by_mission": by_mission, "by_nature": {}, "total": f"{total:.2f}", "items": 3},
            },
        )
    )


def rows_by(body: Any) -> dict[tuple[str, ...], dict[str, Any]]:
    return {tuple(r["key"][d] for d in body["group_by"]): r for r in body["rows"]}


async def test_steering_per_group_on_both_bases(seeded: Api) -> None:
    await dataset(seeded)
    # A 2022 payment dated in 2023: fiscal 2022, but paid in calendar 2023.
    await seeded.post_flow(cpts_id=PARIS, fiscal_year=2022, date="2023-01-16", amount="7000.00", mission="prevention")
    await spending_statement(seeded, AJACCIO, "94", "2A", {"functioning": "40000.00", "prevention": "3000.00"})
    await spending_statement(
        seeded, AJACCIO, "94", "2A", {"functioning": "41000.00", "prevention": "3000.00"}
    )  # replaces
    await spending_statement(seeded, PARIS, "11", "75", {"access_to_care": "50000.00"})

    fiscal = await steering(seeded, year=2023, group_by="region")
    regions = rows_by(fiscal)
    # Corse: Ajaccio and Bastia (194,500 theoretical each); Île-de-France: Paris (305,000).
    corse, idf = regions[("94",)], regions[("11",)]
    assert (corse["cpts_count"], corse["population"]) == (2, 95_000)
    assert (corse["theoretical"], corse["maximum"]) == ("389000.00", "604000.00")
    # Ajaccio 10,000 + 45,000 − 1,000 + 5,000 (FIR) + 2,500.50 + 1,200.25; Bastia 60,000 (+ 999.99 − 999.99)
    assert corse["paid"] == "122700.75" and corse["allocated"] == "92000.00"
    assert corse["spent"] == "44000.00" and corse["per_capita"] == "1.29"  # 122,700.75 / 95,000
    assert (idf["theoretical"], idf["paid"], idf["spent"]) == ("305000.00", "90000.00", "50000.00")
    assert fiscal["total"]["theoretical"] == "694000.00" and fiscal["total"]["paid"] == "252700.75"
    assert fiscal["basis"] == "fiscal_year" and fiscal["illustrative"] is True

    # payment_date: the 2022 functioning of Paris dated 10 January 2022 leaves 2023; the 2022
    # prevention payment dated 16 January 2023 enters it.
    calendar = await steering(seeded, year=2023, group_by="region", basis="payment_date")
    assert rows_by(calendar)[("11",)]["paid"] == "97000.00"
    assert calendar["total"]["theoretical"] == fiscal["total"]["theoretical"]
    assert (await steering(seeded, year=2022, group_by="region", basis="payment_date"))["total"]["paid"] == "90000.00"
    assert (await steering(seeded, year=2022, group_by="region"))["total"]["paid"] == "97000.00"

    two = rows_by(await steering(seeded, year=2023, group_by=["region", "funder_category"]))
    assert two[("94", "aci")]["paid"] == "114000.00" and two[("94", "fir")]["paid"] == "5000.00"
    assert two[("94", "aci")]["theoretical"] == "389000.00" and two[("94", "fir")]["theoretical"] == "0.00"
    assert two[("94", "aci")]["spent"] is None  # spending names no payer
    missions = rows_by(await steering(seeded, year=2023, group_by="mission"))
    assert (
        missions[("functioning",)]["spent"] == "41000.00" and missions[("functioning",)]["theoretical"] == "210000.00"
    )
    tiers = rows_by(await steering(seeded, year=2023, group_by="size_tier"))
    assert set(tiers) == {("T1",), ("T2",), ("T4",)} and tiers[("T4",)]["maximum"] == "475000.00"
    by_cpts = rows_by(await steering(seeded, year=2023, group_by="cpts"))
    assert by_cpts[(BASTIA,)]["paid"] == "60000.00"

    # Scoped like the rest: an ARS of Corse sees Corse only.
    ars = await steering(seeded, role="ars", claims={"region": "94"}, year=2023, group_by="departement")
    assert set(rows_by(ars)) == {("2A",), ("2B",)} and ars["total"]["paid"] == "122700.75"
    for bad in (
        {"group_by": ["region", "region"]},
        {"group_by": ["region", "mission", "cpts"]},
        {"group_by": "planet"},
    ):
        answer = await seeded.call("GET", "/v1/analytics/steering", params={"year": 2023, **bad})
        assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"


async def test_the_simulator_with_current_parameters_gives_the_analytics_totals(seeded: Api) -> None:
    await dataset(seeded)
    answer = await seeded.call("POST", "/v1/simulations/aci", json={"years": [2022, 2023]})
    assert answer.status_code == 200, answer.text
    years = {y["year"]: y for y in answer.json()["years"]}
    for year in (2022, 2023):
        analytics = (await seeded.call("GET", "/v1/analytics/funding", params={"year": year})).json()["aci_envelopes"]
        steering_total = (await steering(seeded, year=year, group_by="region"))["total"]
        simulated = years[year]["simulated"]
        assert simulated["theoretical"] == analytics["theoretical"] == steering_total["theoretical"]
        assert simulated["maximum"] == analytics["maximum"] == steering_total["maximum"]
        assert years[year]["difference_maximum"] == "0.00"
    # 2023: Ajaccio and Bastia T2 (302,000 each), Paris T4 (475,000).
    assert years[2023]["simulated"]["by_tier"] == [
        {"key": "T2", "amount": "604000.00"},
        {"key": "T4", "amount": "475000.00"},
    ]
    assert {r["key"]: r["amount"] for r in years[2023]["simulated"]["by_region"]} == {
        "11": "475000.00",
        "94": "604000.00",
    }
    # Levers: a 60 % variable part keeps the maximum, and lowers what is earned without indicators.
    levers = await seeded.call(
        "POST", "/v1/simulations/aci", json={"years": [2023], "levers": {"variable_share": "0.6"}}
    )
    result = levers.json()["years"][0]
    assert result["difference_maximum"] == "0.00" and Decimal(result["difference_theoretical"]) < 0
    # An inline parameter set: T2 at 100,000 functioning only, T4 (from 175,001) at 200,000.
    inline = {
        "label": "Next ACI (draft)",
        "effective_from": "2026-01-01",
        "source": "negotiation",
        "tiers": [
            {
                "tier": "T2",
                "min_population": 0,
                "functioning": "100000.00",
                "missions": {"prevention": {"fixed": "0", "variable": "0"}},
            },
            {
                "tier": "T4",
                "min_population": 175001,
                "functioning": "200000.00",
                "missions": {"prevention": {"fixed": "0", "variable": "0"}},
            },
        ],
    }
    drafted = (await seeded.call("POST", "/v1/simulations/aci", json={"years": [2023], "parameters": inline})).json()
    simulated = drafted["years"][0]["simulated"]
    assert simulated["maximum"] == "400000.00" and drafted["years"][0]["difference_maximum"] == "-679000.00"
    named = await seeded.call(
        "POST", "/v1/simulations/aci", json={"years": [2023], "parameters_version": "illustrative-aci-2019"}
    )
    assert named.json()["years"][0]["simulated"]["maximum"] == "1024000.00"  # 2 × 287,000 + 450,000: no crisis
    # Nothing was recorded, and bad requests are problems.
    assert (
        await seeded.call("POST", "/v1/simulations/aci", json={"years": [2023], "parameters_version": "nope"})
    ).status_code == 422
    both = {"years": [2023], "parameters_version": "illustrative-aci-2019", "parameters": inline}
    assert (await seeded.call("POST", "/v1/simulations/aci", json=both)).status_code == 422
    assert (await seeded.call("POST", "/v1/simulations/aci", json={"years": []})).status_code == 422


async def test_csv_cells_never_run_as_formulas(seeded: Api) -> None:
    funder = await seeded.call(
        "POST", "/v1/funders", json={"name": '=HYPERLINK("http://evil","x")', "category": "private_company"}
    )
    assert funder.status_code == 201
    seeded.funders["evil"] = funder.json()["id"]
    await seeded.post_flow("evil", mission="functioning", part="not_applicable", funder_reference="+SUM(A1:A9)")
    flow = await seeded.post_flow(amount="3.00")
    await seeded.call("POST", f"/v1/flows/{flow['id']}/reversal", json={"date": "2023-04-01", "reason": "typo"})
    rows = list(csv.DictReader(io.StringIO((await seeded.call("GET", "/v1/exports/flows.csv")).text)))
    evil = rows[0]
    assert evil["funder_name"] == '\'=HYPERLINK("http://evil","x")' and evil["funder_reference"] == "'+SUM(A1:A9)"
    assert rows[-1]["amount"] == "-3.00"  # an amount the platform wrote stays a number
