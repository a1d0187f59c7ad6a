"""Territorial scoping of what each role reads: another territory's resource answers 404
(indistinguishable from missing), lists, aggregates and exports count only what the caller may
see; the integrator reads aggregates, not the raw lists. Who may write what is the access
matrix (test_funding_access_matrix.py, driven by the access table)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from funding_helpers import AJACCIO, CAEN, PARIS, Api

from cpts_kit.testing import caller_id

# One flow per CPTS: Ajaccio (94 / 2A), Paris (11 / 75), Caen (28 / 14).
AMOUNTS = {AJACCIO: Decimal("100.00"), PARIS: Decimal("200.00"), CAEN: Decimal("400.00")}

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
NATIONAL = {"cnam", "dgos", "auditor", "integrator"}


async def prepare(api: Api) -> dict[str, dict[str, str]]:
    """A flow, a declaration and a reallocation request per CPTS (as the Cnam)."""
    ids: dict[str, dict[str, str]] = {}
    for cpts_id, amount in AMOUNTS.items():
        funder = "fir" if cpts_id == CAEN else "aci"
        part = "not_applicable" if cpts_id == CAEN else "fixed"
        flow = await api.post_flow(funder, cpts_id=cpts_id, amount=str(amount), part=part)
        declaration = await api.call(
            "POST",
            "/v1/declarations",
            json={"cpts_id": cpts_id, "fiscal_year": 2023, "sources": [{"category": "own_resources", "amount": "5"}]},
        )
        ask = {
            "cpts_id": cpts_id,
            "year": 2023,
            "from_mission": "prevention",
            "to_mission": "access_to_care",
            "amount": "1",
        }
        reallocation = await api.call("POST", "/v1/reallocations", json=ask)
        ids[cpts_id] = {
            "flow": flow["id"],
            "declaration": declaration.json()["id"],
            "reallocation": reallocation.json()["id"],
        }
    return ids


@pytest.mark.parametrize(("role", "claims", "sees"), ROLES, ids=[caller_id(r, c) for r, c, _ in ROLES])
async def test_reads_lists_aggregates_and_exports_are_scoped(
    seeded: Api, role: str, claims: dict[str, Any], sees: set[str]
) -> None:
    ids = await prepare(seeded)

    async def get(url: str, **params: Any) -> Any:
        return await seeded.call("GET", url, role=role, claims=claims, params=params)

    raw = role != "integrator"  # the integrator reads aggregates, not the raw lists
    for cpts_id, resources in ids.items():
        expected = 200 if cpts_id in sees else 404
        assert (await get(f"/v1/flows/{resources['flow']}")).status_code == (expected if raw else 403)
        assert (await get(f"/v1/declarations/{resources['declaration']}")).status_code == (expected if raw else 403)
        assert (await get(f"/v1/reallocations/{resources['reallocation']}")).status_code == expected
        assert (await get(f"/v1/cpts/{cpts_id}/envelopes/2023")).status_code == expected
        assert (await get(f"/v1/cpts/{cpts_id}/schedules/2023")).status_code == expected
        assert (await get("/v1/analytics/funding", year=2023, cpts=cpts_id)).status_code == expected
    for url in ("/v1/flows", "/v1/declarations", "/v1/reallocations") if raw else ("/v1/reallocations",):
        listed = (await get(url)).json()
        assert {item["cpts_id"] for item in listed["items"]} == sees and listed["total"] == len(sees), url
    if raw:
        assert (await get("/v1/flows", region="11")).json()["total"] == (1 if PARIS in sees else 0)
        rows = list(csv.DictReader(io.StringIO((await get("/v1/exports/flows.csv")).text)))
        assert {r["cpts_id"] for r in rows} == sees
    else:
        assert (await get("/v1/flows")).status_code == 403
        assert (await get("/v1/exports/flows.csv")).status_code == 403

    totals = (await get("/v1/analytics/funding", year=2023)).json()
    assert Decimal(totals["total"]) == sum((AMOUNTS[c] for c in sees), Decimal(0))
    assert totals["cpts_funded"] == len(sees)
    assert totals["aci_envelopes"]["signatories"] == len(sees - {CAEN})
    ars_of = claims.get("region")
    deps = claims.get("departement", [])
    deps = [deps] if isinstance(deps, str) else deps
    assert (await get("/v1/analytics/funding", region="94")).status_code == (
        200 if role in NATIONAL or ars_of == "94" else 404
    )
    assert (await get("/v1/analytics/funding", region="11")).status_code == (
        200 if role in NATIONAL or ars_of == "11" else 404
    )
    assert (await get("/v1/analytics/funding", departement="2A")).status_code == (
        200 if role in NATIONAL or ars_of == "94" or "2A" in deps else 404
    )
    assert (await get("/v1/analytics/funding", departement="75")).status_code == (
        200 if role in NATIONAL or ars_of == "11" or "75" in deps else 404
    )
    paris = await get("/v1/analytics/funding", year=2023, cpts=PARIS)
    if PARIS in sees:
        assert paris.json()["total"] == "200.00"
    overlaps = (await get("/v1/reports/aci-fir-overlaps")).json()
    assert overlaps["total"] == 0
    # Reference data is for everyone.
    assert (await get("/v1/funders")).json()["total"] == 4
    assert (await get("/v1/parameters/aci")).status_code == 200
    assert (await get("/v1/parameters/policy/2023")).status_code == 200
