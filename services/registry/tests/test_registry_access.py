"""Territorial access control, endpoint by endpoint, for every role inside and outside its
territory: reads of another territory answer 404 (indistinguishable from missing), lists and
aggregates count only what the caller may see, writes need both the territory and the role."""

from __future__ import annotations

from typing import Any

import pytest
from registry_helpers import AJACCIO, Api, cpts_body

# A CPTS in Corse-du-Sud (region 94) and one in Paris (region 11).
CORSE = cpts_body()
PARIS = cpts_body(siren="552100554", name="CPTS Paris 15", region="11", departement="75", communes=["75115"])

ROLES: list[tuple[str, dict[str, Any], set[str]]] = [
    # role, territory claims, which of the two CPTS it sees
    ("cnam", {}, {"corse", "paris"}),
    ("dgos", {}, {"corse", "paris"}),
    ("auditor", {}, {"corse", "paris"}),
    ("integrator", {}, {"corse", "paris"}),
    ("ars", {"region": "94"}, {"corse"}),
    ("ars", {"region": "11"}, {"paris"}),
    ("cpam", {"departement": "2A"}, {"corse"}),
    ("cpam", {"departement": ["2B", "75"]}, {"paris"}),
    ("cpam", {"departement": "2B"}, set()),
    ("cpts", {"cpts": "SELF"}, {"corse"}),
]

WRITERS = {
    "patch": {"cnam", "dgos", "ars", "cpam", "cpts"},
    "transition": {"cnam", "dgos", "ars", "cpam"},
    "territory": {"cnam", "dgos", "ars"},
    "members": {"cnam", "dgos", "ars", "cpam", "cpts"},
    "governance": {"cnam", "dgos", "ars", "cpam", "cpts"},
}


def _label(role: str, claims: dict[str, Any]) -> str:
    return role + "-" + "-".join(str(v) for v in claims.values())


@pytest.mark.parametrize(("role", "claims", "sees"), ROLES, ids=[_label(r, c) for r, c, _ in ROLES])
async def test_every_endpoint_respects_the_territory(
    api: Api, role: str, claims: dict[str, Any], sees: set[str]
) -> None:
    ids = {}
    for name, body in (("corse", CORSE), ("paris", PARIS)):
        created = await api.call("POST", "/v1/cpts", json=body)
        assert created.status_code == 201
        ids[name] = created.json()["id"]
        await api.call("PUT", f"/v1/cpts/{ids[name]}/members/2024", json={"counts": {"infirmier": 3}})
    claims = {k: (ids["corse"] if v == "SELF" else v) for k, v in claims.items()}

    async def call(method: str, url: str, **kwargs: Any) -> int:
        return (await api.call(method, url, role=role, claims=claims, **kwargs)).status_code

    listed = (await api.call("GET", "/v1/cpts", role=role, claims=claims)).json()
    assert listed["total"] == len(sees)
    assert {item["id"] for item in listed["items"]} == {ids[n] for n in sees}
    for region, name in (("94", "corse"), ("11", "paris")):
        filtered = (await api.call("GET", "/v1/cpts", role=role, claims=claims, params={"region": region})).json()
        assert filtered["total"] == (1 if name in sees else 0)

    for name, cpts_id in ids.items():
        visible = name in sees
        read = 200 if visible else 404
        base = f"/v1/cpts/{cpts_id}"
        assert await call("GET", base) == read
        assert await call("GET", f"{base}/territory") == read
        assert await call("GET", f"{base}/members") == read
        assert await call("GET", f"{base}/members/2024") == read
        assert await call("GET", f"{base}/governance") == read

        def write(kind: str, visible: bool = visible) -> int:
            if not visible:
                return 404
            return 200 if role in WRITERS[kind] else 403

        assert await call("PATCH", base, json={"name": "Renamed CPTS"}) == write("patch")
        transition = {"to": "health_project_validated", "effective_date": "2022-01-01"}
        assert await call("POST", f"{base}/transitions", json=transition) == write("transition")
        communes = [AJACCIO] if name == "corse" else ["75115", "75114"]
        assert await call("PUT", f"{base}/territory", json={"communes": communes}) == write("territory")
        assert await call("PUT", f"{base}/members/2024", json={"counts": {"infirmier": 5}}) == write("members")
        board = {"board": [{"name": "Claire Martin", "role": "president", "profession": "infirmier"}]}
        assert await call("PUT", f"{base}/governance", json=board) == write("governance")

    # Nothing changed where the caller had no right.
    for name, cpts_id in ids.items():
        detail = (await api.call("GET", f"/v1/cpts/{cpts_id}")).json()
        allowed = name in sees and role in WRITERS["patch"]
        assert (detail["name"] == "Renamed CPTS") is allowed
        members = (await api.call("GET", f"/v1/cpts/{cpts_id}/members/2024")).json()
        assert members["total"] == (5 if name in sees and role in WRITERS["members"] else 3)


@pytest.mark.parametrize(("role", "claims", "sees"), ROLES, ids=[_label(r, c) for r, c, _ in ROLES])
async def test_coverage_and_creation_respect_the_territory(
    api: Api, role: str, claims: dict[str, Any], sees: set[str]
) -> None:
    national = role in {"cnam", "dgos", "auditor", "integrator"}
    claims = {k: ("00000000-0000-0000-0000-000000000000" if v == "SELF" else v) for k, v in claims.items()}

    async def coverage(**params: str) -> int:
        return (await api.call("GET", "/v1/coverage", role=role, claims=claims, params=params)).status_code

    assert await coverage() == (200 if national else 403)
    assert await coverage(region="94") == (200 if national or claims.get("region") == "94" else 404)
    assert await coverage(region="11") == (200 if national or claims.get("region") == "11" else 404)
    deps = claims.get("departement", [])
    deps = [deps] if isinstance(deps, str) else deps
    assert await coverage(departement="2A") == (
        200 if national or claims.get("region") == "94" or "2A" in deps else 404
    )
    assert await coverage(departement="75") == (
        200 if national or claims.get("region") == "11" or "75" in deps else 404
    )

    creators = {"cnam", "dgos", "ars"}
    for body, region in ((CORSE, "94"), (PARIS, "11")):
        status = (await api.call("POST", "/v1/cpts", role=role, claims=claims, json=body)).status_code
        if role not in creators:
            assert status == 403
        else:
            assert status == (201 if national or claims.get("region") == region else 403)
