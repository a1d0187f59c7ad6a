"""Who may do what with the documents, driven by the ACCESS table: every endpoint x every role
x inside/outside its territory, asserting the status and that a refused request changed
nothing (rows and stored files). Reads of another territory answer 404 (indistinguishable from
missing), lists count only what the caller may see."""

from __future__ import annotations

from typing import Any

import pytest
from documents_helpers import CORSE_ID, PARIS_ID, PDF, SPENDING, VALID_FEC, Api

from cpts_documents.access import ACCESS
from cpts_kit.testing import Caller, Probe, assert_access, caller_id, database_state, standard_callers

CALLERS = standard_callers(region="94", departement="2A", other_region="11", other_departement="75")


async def _state(api: Api) -> Any:
    """Every row, and every file of the blob store: a refused request changes neither."""
    files = sorted(str(p) for p in api.settings.blob_root.rglob("*") if p.is_file())  # type: ignore[attr-defined]
    return await database_state(api.database), files


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.label)
async def test_the_access_table_rules_every_endpoint(api: Api, caller: Caller) -> None:
    fec = (await api.upload(CORSE_ID, VALID_FEC)).json()["id"]
    await api.upload(CORSE_ID, SPENDING, "spending_statement")
    requirements = {"deadline": "2025-06-30", "items": [{"code": "fec", "label": "FEC", "accepted_types": ["fec"]}]}
    nationwide = {"outside": 200}  # lists and reference tables: every caller gets an answer, scoped
    national_only = {"outside": 403}  # no territorial role may, whatever its territory
    upload = {"type": "balance_sheet", "fiscal_year": "2024"}
    probes = {
        "document.upload": Probe(
            "POST",
            f"/v1/cpts/{CORSE_ID}/documents",
            CORSE_ID,
            files={"file": ("bilan.pdf", PDF + b"bilan")},
            data=upload,
            ok=201,
        ),
        "document.read": [
            Probe("GET", f"/v1/cpts/{CORSE_ID}/documents", CORSE_ID),
            Probe("GET", f"/v1/documents/{fec}", CORSE_ID),
        ],
        "document.content": Probe("GET", f"/v1/documents/{fec}/content", CORSE_ID),
        "accounts.read": [
            Probe("GET", f"/v1/cpts/{CORSE_ID}/accounts/2024", CORSE_ID),
            Probe("GET", f"/v1/cpts/{CORSE_ID}/spending/2024", CORSE_ID),
        ],
        "completeness.read": [
            Probe("GET", "/v1/completeness", params={"year": "2024"}, **nationwide),
            Probe("GET", f"/v1/cpts/{CORSE_ID}/completeness/2024", CORSE_ID),
        ],
        "requirements.read": Probe("GET", "/v1/requirements/2024", **nationwide),
        "requirements.set": [
            Probe("PUT", "/v1/requirements/2024", json=requirements, **national_only),
            Probe("DELETE", "/v1/requirements/2024", **national_only),
        ],
        "overdue.check": Probe("POST", "/v1/completeness/overdue-check", **national_only),
        "reference.read": [
            Probe("GET", "/v1/missions", **nationwide),
            Probe("GET", "/v1/spending-template", **nationwide),
            Probe("GET", "/v1/chart-of-accounts", **nationwide),
        ],
    }
    await assert_access(api, ACCESS, probes, caller, state=lambda: _state(api))


async def test_integrators_read_aggregates_never_documents(api: Api) -> None:
    fec = (await api.upload(CORSE_ID, VALID_FEC)).json()["id"]
    for url in (f"/v1/cpts/{CORSE_ID}/documents", f"/v1/documents/{fec}", f"/v1/documents/{fec}/content"):
        answer = await api.call("GET", url, "integrator")
        assert answer.status_code == 403 and answer.json()["type"] == "/problems/forbidden", url
        assert VALID_FEC[:20] not in answer.content
        assert (await api.call("GET", url, "auditor")).status_code == 200, url
    accounts = await api.call("GET", f"/v1/cpts/{CORSE_ID}/accounts/2024", "integrator")
    assert accounts.status_code == 200


ROLES: list[tuple[str, dict[str, Any], set[str]]] = [
    # role, territory claims, which CPTS it sees
    ("cnam", {}, {"corse", "paris"}),
    ("auditor", {}, {"corse", "paris"}),
    ("integrator", {}, {"corse", "paris"}),
    ("ars", {"region": "94"}, {"corse"}),
    ("ars", {"region": "11"}, {"paris"}),
    ("cpam", {"departement": "2A"}, {"corse"}),
    ("cpam", {"departement": ["2B", "75"]}, {"paris"}),
    ("cpam", {"departement": "2B"}, set()),
    ("cpts", {"cpts": CORSE_ID}, {"corse"}),
    ("cpts", {"cpts": PARIS_ID}, {"paris"}),
]


@pytest.mark.parametrize(("role", "claims", "sees"), ROLES, ids=[caller_id(r, c) for r, c, _ in ROLES])
async def test_lists_count_only_the_callers_territory(
    api: Api, role: str, claims: dict[str, Any], sees: set[str]
) -> None:
    ids = {"corse": CORSE_ID, "paris": PARIS_ID}
    for cpts_id in ids.values():
        await api.upload(cpts_id, VALID_FEC)
    listed = (await api.call("GET", "/v1/completeness", role=role, claims=claims, params={"year": 2024})).json()
    assert {item["cpts_id"] for item in listed["items"]} == {ids[n] for n in sees}
    assert listed["total"] == len(sees)
    for name, cpts_id in ids.items():
        answer = await api.call("GET", f"/v1/cpts/{cpts_id}/accounts/2024", role=role, claims=claims)
        assert answer.status_code == (200 if name in sees else 404)


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
