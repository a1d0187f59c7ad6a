"""Territorial access, endpoint by endpoint, for every role inside and outside its territory:
reads of another territory answer 404 (indistinguishable from missing), lists, aggregates and
exports count only what the caller may see, writes need both the territory and the role."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from funding_helpers import AJACCIO, CAEN, PARIS, Api

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
WRITERS = {
    "flow": {"cnam", "dgos", "ars", "cpam"},
    "declaration": {"cnam", "dgos", "ars", "cpam", "cpts"},
    "achievements": {"cnam", "dgos", "ars", "cpam"},
    "reallocation": {"cnam", "dgos", "ars", "cpam", "cpts"},
    "funder": {"cnam", "dgos", "ars", "cpam"},
    "parameters": {"cnam", "dgos"},
}


def _label(role: str, claims: dict[str, Any]) -> str:
    return role + "-" + "-".join(str(v) for v in claims.values())


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


@pytest.mark.parametrize(("role", "claims", "sees"), ROLES, ids=[_label(r, c) for r, c, _ in ROLES])
async def test_reads_lists_aggregates_and_exports_are_scoped(
    seeded: Api, role: str, claims: dict[str, Any], sees: set[str]
) -> None:
    ids = await prepare(seeded)

    async def get(url: str, **params: Any) -> Any:
        return await seeded.call("GET", url, role=role, claims=claims, params=params)

    for cpts_id, resources in ids.items():
        expected = 200 if cpts_id in sees else 404
        assert (await get(f"/v1/flows/{resources['flow']}")).status_code == expected
        assert (await get(f"/v1/declarations/{resources['declaration']}")).status_code == expected
        assert (await get(f"/v1/reallocations/{resources['reallocation']}")).status_code == expected
        assert (await get(f"/v1/cpts/{cpts_id}/envelopes/2023")).status_code == expected
        assert (await get(f"/v1/cpts/{cpts_id}/schedules/2023")).status_code == expected
        assert (await get("/v1/analytics/funding", year=2023, cpts=cpts_id)).status_code == expected
    for url in ("/v1/flows", "/v1/declarations", "/v1/reallocations"):
        listed = (await get(url)).json()
        assert {item["cpts_id"] for item in listed["items"]} == sees and listed["total"] == len(sees), url
    assert (await get("/v1/flows", region="11")).json()["total"] == (1 if PARIS in sees else 0)
    rows = list(csv.DictReader(io.StringIO((await get("/v1/exports/flows.csv")).text)))
    assert {r["cpts_id"] for r in rows} == sees

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


@pytest.mark.parametrize(("role", "claims", "sees"), ROLES, ids=[_label(r, c) for r, c, _ in ROLES])
async def test_writes_need_the_role_and_the_territory(
    seeded: Api, role: str, claims: dict[str, Any], sees: set[str]
) -> None:
    async def call(method: str, url: str, body: Any) -> int:
        return (await seeded.call(method, url, role=role, claims=claims, json=body)).status_code

    allowed: dict[str, int] = {"flow": 0, "declaration": 0, "reallocation": 0}
    for cpts_id in (AJACCIO, PARIS, CAEN):
        visible = cpts_id in sees

        def body_write(kind: str, created: int = 201, visible: bool = visible) -> int:
            if role not in WRITERS[kind]:
                return 403
            return created if visible else 422  # a body naming an unseen CPTS: unknown to the caller

        funder = "fir" if cpts_id == CAEN else "aci"
        part = "not_applicable" if cpts_id == CAEN else "fixed"
        status = await call("POST", "/v1/flows", seeded.flow(funder, cpts_id=cpts_id, part=part))
        assert status == body_write("flow"), cpts_id
        allowed["flow"] += status == 201
        declaration = {
            "cpts_id": cpts_id,
            "fiscal_year": 2023,
            "sources": [{"category": "own_resources", "amount": "5"}],
        }
        status = await call("POST", "/v1/declarations", declaration)
        assert status == body_write("declaration")
        allowed["declaration"] += status == 201
        ask = {
            "cpts_id": cpts_id,
            "year": 2023,
            "from_mission": "prevention",
            "to_mission": "access_to_care",
            "amount": "1",
        }
        status = await call("POST", "/v1/reallocations", ask)
        assert status == body_write("reallocation")
        allowed["reallocation"] += status == 201
        if cpts_id != CAEN:  # Caen has no ACI envelope
            expected = 404 if not visible else (200 if role in WRITERS["achievements"] else 403)
            assert (
                await call("PUT", f"/v1/cpts/{cpts_id}/achievements/2023", {"rates": {"prevention": "1"}}) == expected
            )

    assert await call("POST", "/v1/funders", {"name": f"Funder of {role}", "category": "state"}) == (
        201 if role in WRITERS["funder"] else 403
    )
    admin = 200 if role in WRITERS["parameters"] else 403
    assert await call("PUT", "/v1/parameters/policy/2030", {"variable_share": "0.5"}) == admin
    version = {
        "label": "Test",
        "effective_from": "2030-01-01",
        "source": "test",
        "tiers": [
            {
                "tier": "T1",
                "min_population": 0,
                "functioning": "1",
                "missions": {"prevention": {"fixed": "1", "variable": "1"}},
            }
        ],
    }
    assert await call("PUT", "/v1/parameters/aci/test-2030", version) == (201 if admin == 200 else 403)

    # Nothing else was written: the national view counts exactly the allowed writes.
    for url, kind in (
        ("/v1/flows", "flow"),
        ("/v1/declarations", "declaration"),
        ("/v1/reallocations", "reallocation"),
    ):
        assert (await seeded.call("GET", url)).json()["total"] == allowed[kind], url
    assert allowed["flow"] == (len(sees) if role in WRITERS["flow"] else 0)
