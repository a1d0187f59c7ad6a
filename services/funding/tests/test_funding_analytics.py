"""Analytics on a small hand-checked dataset: totals by funder category, mission, part and
year, CPTS funded, per capita, territories, and ACI envelopes against ACI money paid."""

from __future__ import annotations

from datetime import date
from typing import Any

from funding_helpers import AJACCIO, CAEN, PARIS, Api, project, signatory_events

BASTIA = "44444444-4444-4444-8444-444444444444"


async def dataset(api: Api) -> None:
    """Ajaccio (2A, 50,000 inh.), Paris (75, 200,000), Caen (14, 30,000, never signed) and
    Bastia (2B, 45,000, signed 1 July 2022)."""
    await project(
        api.db,
        api.settings,
        signatory_events(
            BASTIA,
            name="CPTS Bastia",
            region="94",
            departement="2B",
            population=45_000,
            size_tier="T2",
            signed_on=date(2022, 7, 1),
            siren="552081317",
        ),
    )
    flows: list[tuple[str, dict[str, Any]]] = [
        ("aci", {"amount": "10000.00"}),  # Ajaccio, prevention, fixed
        ("aci", {"amount": "45000.00", "mission": "functioning", "part": "not_applicable"}),
        ("aci", {"amount": "1000.00", "kind": "recovery"}),
        ("aci", {"amount": "92000.00", "kind": "allocation", "mission": "access_to_care", "part": "not_applicable"}),
        ("fir", {"amount": "5000.00", "part": "not_applicable"}),
        ("region", {"amount": "2500.50", "mission": "functioning", "part": "not_applicable"}),
        ("pharma", {"amount": "1200.25", "mission": "professional_support", "part": "not_applicable"}),
        ("aci", {"cpts_id": PARIS, "amount": "70000.00", "mission": "access_to_care"}),
        ("aci", {"cpts_id": PARIS, "amount": "20000.00", "mission": "access_to_care", "part": "variable"}),
        (
            "aci",
            {
                "cpts_id": PARIS,
                "amount": "90000.00",
                "mission": "functioning",
                "part": "not_applicable",
                "fiscal_year": 2022,
                "date": "2022-01-10",
            },
        ),
        ("aci", {"cpts_id": BASTIA, "amount": "60000.00", "mission": "functioning", "part": "not_applicable"}),
        ("fir", {"cpts_id": CAEN, "amount": "40000.00", "mission": "functioning", "part": "not_applicable"}),
    ]
    for funder, overrides in flows:
        await api.post_flow(funder, **overrides)
    mistaken = await api.post_flow(cpts_id=BASTIA, amount="999.99", mission="quality_relevance")
    reversal = await api.call(
        "POST", f"/v1/flows/{mistaken['id']}/reversal", json={"date": "2023-03-20", "reason": "duplicate"}
    )
    assert reversal.status_code == 201


async def analytics(
    api: Api, role: str = "cnam", claims: dict[str, Any] | None = None, **params: Any
) -> dict[str, Any]:
    answer = await api.call("GET", "/v1/analytics/funding", role=role, claims=claims, params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def pairs(items: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(i["key"], i["amount"]) for i in items]


async def test_national_figures_of_a_year(seeded: Api) -> None:
    await dataset(seeded)
    nation = await analytics(seeded, year=2023)
    assert nation["scope"] == {"level": "nation", "code": None, "name": "France"}
    # 10,000 + 45,000 − 1,000 + 5,000 + 2,500.50 + 1,200.25 + 70,000 + 20,000 + 60,000 + 40,000
    assert nation["total"] == "252700.75"
    assert nation["allocated"] == "92000.00" and nation["recovered"] == "1000.00"
    assert nation["cpts_funded"] == 4
    assert nation["population"] == 50_000 + 200_000 + 45_000 + 30_000
    assert nation["per_capita"] == "0.78"  # 252,700.75 / 325,000 = 0.7775...
    assert pairs(nation["by_funder_category"]) == [
        ("aci", "204000.00"),
        ("fir", "45000.00"),
        ("local_region", "2500.50"),
        ("pharma", "1200.25"),
    ]
    assert pairs(nation["by_mission"]) == [
        ("functioning", "147500.50"),
        ("access_to_care", "90000.00"),
        ("prevention", "14000.00"),
        ("professional_support", "1200.25"),
    ]  # the reversed 999.99 on quality_relevance nets to nothing
    assert pairs(nation["by_part"]) == [
        ("not_applicable", "153700.75"),
        ("fixed", "79000.00"),
        ("variable", "20000.00"),
    ]
    assert pairs(nation["by_year"]) == [("2023", "252700.75")]
    envelopes = nation["aci_envelopes"]
    # Ajaccio T2 and Bastia T2 (194,500 each without indicators assessed), Paris T4 (305,000):
    # 2023 is a crisis-plan update year for the three (50 % of 30k, 30k and 50k).
    assert envelopes["signatories"] == 3 and envelopes["illustrative"] is True
    assert envelopes["theoretical"] == "694000.00" and envelopes["maximum"] == "1079000.00"
    assert envelopes["over_maximum"] == 0 and envelopes["excess"] == "0.00"
    assert envelopes["paid"] == "204000.00"
    assert envelopes["by_mission"][0] == {"key": "functioning", "amount": "210000.00"}  # 60k + 90k + 60k


async def test_category_filter_territories_and_ranges(seeded: Api) -> None:
    await dataset(seeded)
    aci = await analytics(seeded, year=2023, funder_category="aci")
    assert aci["total"] == "204000.00" and aci["cpts_funded"] == 3 and aci["per_capita"] == "0.69"
    assert pairs(aci["by_funder_category"]) == [("aci", "204000.00")]
    corse = await analytics(seeded, year=2023, region="94")
    assert corse["scope"] == {"level": "region", "code": "94", "name": "Corse"}
    assert corse["total"] == "122700.75" and corse["cpts_funded"] == 2
    assert (await analytics(seeded, year=2023, region="94", funder_category="aci"))["total"] == "114000.00"
    south = await analytics(seeded, year=2023, departement="2A")
    assert south["scope"]["name"] == "Corse-du-Sud" and south["total"] == "62700.75" and south["cpts_funded"] == 1
    paris = await analytics(seeded, year_from=2022, year_to=2023, cpts=PARIS)
    assert paris["scope"]["level"] == "cpts" and paris["years"] == [2022, 2023]
    assert paris["total"] == "180000.00" and pairs(paris["by_year"]) == [("2022", "90000.00"), ("2023", "90000.00")]
    assert (await analytics(seeded, year=2022))["total"] == "90000.00"
    assert (await analytics(seeded, year=2021))["cpts_funded"] == 0
    # Without a filter, each role sees its own territory.
    assert (await analytics(seeded, "ars", {"region": "94"}, year=2023))["total"] == "122700.75"
    cpam = await analytics(seeded, "cpam", {"departement": "2A"}, year=2023)
    assert cpam["scope"]["level"] == "departements" and cpam["total"] == "62700.75"
    own = await analytics(seeded, "cpts", {"cpts": PARIS}, year=2023)
    assert own["scope"] == {"level": "cpts", "code": PARIS, "name": "CPTS Paris 15"} and own["total"] == "90000.00"
    assert (await analytics(seeded, "cpts", {"cpts": AJACCIO}, year=2023))["aci_envelopes"]["signatories"] == 1
