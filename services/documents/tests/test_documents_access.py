"""Territorial access control: every role inside and outside its territory. Reads of another
territory answer 404 (indistinguishable from missing), lists count only what the caller may
see, uploads need both the territory and the role."""

from __future__ import annotations

from typing import Any

import pytest
from documents_helpers import CORSE_ID, PARIS_ID, SPENDING, VALID_FEC, Api

ROLES: list[tuple[str, dict[str, Any], set[str], bool]] = [
    # role, territory claims, which CPTS it sees, may it upload
    ("cnam", {}, {"corse", "paris"}, True),
    ("dgos", {}, {"corse", "paris"}, True),
    ("auditor", {}, {"corse", "paris"}, False),
    ("integrator", {}, {"corse", "paris"}, False),
    ("ars", {"region": "94"}, {"corse"}, True),
    ("ars", {"region": "11"}, {"paris"}, True),
    ("cpam", {"departement": "2A"}, {"corse"}, True),
    ("cpam", {"departement": ["2B", "75"]}, {"paris"}, True),
    ("cpam", {"departement": "2B"}, set(), True),
    ("cpts", {"cpts": CORSE_ID}, {"corse"}, True),
    ("cpts", {"cpts": PARIS_ID}, {"paris"}, True),
]


def _label(role: str, claims: dict[str, Any]) -> str:
    return role + "-" + "-".join(str(v)[:8] for v in claims.values())


@pytest.mark.parametrize(("role", "claims", "sees", "uploads"), ROLES, ids=[_label(r, c) for r, c, _, _ in ROLES])
async def test_every_endpoint_respects_the_territory(
    api: Api, role: str, claims: dict[str, Any], sees: set[str], uploads: bool
) -> None:
    ids = {"corse": CORSE_ID, "paris": PARIS_ID}
    documents = {}
    for name, cpts_id in ids.items():
        documents[name] = (await api.upload(cpts_id, VALID_FEC)).json()["id"]
        await api.upload(cpts_id, SPENDING, "spending_statement")

    async def call(method: str, url: str, **kwargs: Any) -> int:
        return (await api.call(method, url, role=role, claims=claims, **kwargs)).status_code

    listed = (await api.call("GET", "/v1/completeness", role=role, claims=claims, params={"year": 2024})).json()
    assert {item["cpts_id"] for item in listed["items"]} == {ids[n] for n in sees}
    assert listed["total"] == len(sees)
    for name, cpts_id in ids.items():
        visible = name in sees
        read = 200 if visible else 404
        assert await call("GET", f"/v1/cpts/{cpts_id}/documents") == read
        assert await call("GET", f"/v1/documents/{documents[name]}") == read
        assert await call("GET", f"/v1/documents/{documents[name]}/content") == read
        assert await call("GET", f"/v1/cpts/{cpts_id}/accounts/2024") == read
        assert await call("GET", f"/v1/cpts/{cpts_id}/spending/2024") == read
        assert await call("GET", f"/v1/cpts/{cpts_id}/completeness/2024") == read
        upload = await api.upload(
            cpts_id, b"%PDF-1.4 bilan " + name.encode(), "balance_sheet", role=role, claims=claims
        )
        assert upload.status_code == (404 if not visible else 201 if uploads else 403), upload.text
    steering = role in ("cnam", "dgos")
    body = {"deadline": "2025-06-30", "items": [{"code": "fec", "label": "FEC", "accepted_types": ["fec"]}]}
    assert await call("PUT", "/v1/requirements/2024", json=body) == (200 if steering else 403)
    assert await call("POST", "/v1/completeness/overdue-check") == (200 if steering else 403)


async def test_a_cpam_cannot_download_another_departements_file(api: Api) -> None:
    document = (await api.upload(PARIS_ID, VALID_FEC)).json()["id"]
    cpam_2a = {"departement": "2A"}
    content = await api.call("GET", f"/v1/documents/{document}/content", role="cpam", claims=cpam_2a)
    assert content.status_code == 404 and content.json()["type"] == "/problems/not-found"
    assert "content" not in content.text.lower() or "not found" in content.json()["detail"]
    own = await api.call("GET", f"/v1/documents/{document}/content", role="cpam", claims={"departement": "75"})
    assert own.status_code == 200 and own.content == VALID_FEC


async def test_missing_or_bad_tokens_are_401(api: Api) -> None:
    assert (await api.client.get(f"/v1/cpts/{CORSE_ID}/documents")).status_code == 401
    bad = await api.client.get(f"/v1/cpts/{CORSE_ID}/documents", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["type"] == "/problems/unauthorized"
