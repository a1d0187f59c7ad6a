"""Who may do what in the registry, driven by its ACCESS table: every endpoint x every role x
inside/outside its territory, asserting the status and that a refused request changed nothing.
Reads of another territory answer 404 (indistinguishable from missing); lists and aggregates
count only what the caller may see."""

from __future__ import annotations

from typing import Any

import pytest
from registry_helpers import AJACCIO, ALATA, Api, cpts_body

from cpts_kit.auth import Role
from cpts_kit.identifiers import with_luhn_key
from cpts_kit.testing import SELF, Caller, Probe, assert_access, caller_id, database_state, standard_callers
from cpts_registry.access import ACCESS

# A CPTS in Corse-du-Sud (region 94) and one in Paris (region 11).
CORSE = cpts_body()
PARIS = cpts_body(siren="552100554", name="CPTS Paris 15", region="11", departement="75", communes=["75115"])

CALLERS = standard_callers(region="94", departement="2A", other_region="11", other_departement="75")


async def _registered(api: Api, *, siren: str, status: list[str]) -> str:
    """A Corse CPTS moved (as national roles) along ``status``."""
    created = await api.call("POST", "/v1/cpts", json=cpts_body(siren=siren, name=f"CPTS {siren}"))
    assert created.status_code == 201, created.text
    cpts_id: str = created.json()["id"]
    await api.call("PUT", f"/v1/cpts/{cpts_id}/members/2024", json={"counts": {"infirmier": 3}})
    for day, to in enumerate(status, start=1):
        role = "dgos" if to == "health_project_validated" else "cnam"
        moved = await api.call(
            "POST", f"/v1/cpts/{cpts_id}/transitions", role, json={"to": to, "effective_date": f"2022-0{day}-01"}
        )
        assert moved.status_code == 200, moved.text
    return cpts_id


async def _probes(api: Api) -> dict[str, Any]:
    sirens = ["130025265", "180035024", "200066231", "213000011", "217500016"]
    plain = await _registered(api, siren=sirens[0], status=[])
    validated = await _registered(api, siren=sirens[1], status=["health_project_validated"])
    signed = await _registered(api, siren=sirens[2], status=["health_project_validated", "aci_signed"])
    suspended = await _registered(api, siren=sirens[3], status=["health_project_validated", "aci_signed", "suspended"])

    def transition(cpts_id: str, to: str) -> Probe:
        body = {"to": to, "effective_date": "2023-01-01"}
        return Probe("POST", f"/v1/cpts/{cpts_id}/transitions", cpts_id, json=body)

    base = f"/v1/cpts/{plain}"
    board = {"board": [{"name": "Claire Martin", "role": "president", "profession": "infirmier"}]}
    return {
        "cpts.read": [
            Probe("GET", base, plain),
            Probe("GET", f"{base}/territory", plain),
            Probe("GET", f"{base}/members", plain),
            Probe("GET", f"{base}/members/2024", plain),
            Probe("GET", f"{base}/governance", plain),
        ],
        "coverage.read": Probe("GET", "/v1/coverage", params={"departement": "2A"}, outside_for=frozenset({Role.CPTS})),
        "reference.read": Probe("GET", "/v1/professions", ok=200, outside=200),
        # Registering in Corse: a territorial role elsewhere is told it is outside its territory.
        "cpts.register": Probe("POST", "/v1/cpts", json=cpts_body(siren=sirens[4]), ok=201, outside=403),
        "cpts.update:name": Probe("PATCH", base, plain, json={"name": "Renamed CPTS"}),
        "cpts.update:identity": [
            Probe("PATCH", base, plain, json={"finess": "2A0000014"}),
            Probe("PATCH", base, plain, json={"legal_form": "other"}),
            Probe("PATCH", base, plain, json={"siret": with_luhn_key(sirens[0] + "0001")}),
        ],
        "lifecycle:health_project_validated": transition(plain, "health_project_validated"),
        "lifecycle:aci_signed": [transition(validated, "aci_signed"), transition(suspended, "aci_signed")],
        "lifecycle:suspended": transition(signed, "suspended"),
        "lifecycle:dissolved": transition(validated, "dissolved"),
        "territory.set": Probe("PUT", f"{base}/territory", plain, json={"communes": [AJACCIO, ALATA]}),
        "members.report": Probe("PUT", f"{base}/members/2024", plain, json={"counts": {"infirmier": 5}}),
        "governance.set": Probe("PUT", f"{base}/governance", plain, json=board),
    }


@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.label)
async def test_the_access_table_rules_every_endpoint(api: Api, caller: Caller) -> None:
    probes = await _probes(api)
    if caller.role is Role.CPTS and caller.inside:
        # A CPTS caller is inside for the CPTS the probe names; registering is never its act.
        assert caller.claims == {"cpts": SELF}
    statuses = await assert_access(api, ACCESS, probes, caller)
    allowed = {p.action for p in ACCESS if caller.role in p.roles}
    for action, seen in statuses.items():
        if not caller.inside and action not in {"reference.read"}:
            assert all(s in (403, 404) for s in seen), (action, seen)
        elif action in allowed and caller.role not in probes_outside(probes, action):
            assert all(s < 300 for s in seen), (action, seen)


def probes_outside(probes: dict[str, Any], action: str) -> frozenset[Role]:
    some = probes[action]
    return (some if isinstance(some, Probe) else some[0]).outside_for


async def test_a_cpts_may_not_change_its_identifiers_and_is_told_which(api: Api) -> None:
    created = (await api.call("POST", "/v1/cpts", json=CORSE)).json()
    own = {"cpts": created["id"]}
    before = await database_state(api.db)  # type: ignore[arg-type]
    answer = await api.call(
        "PATCH",
        f"/v1/cpts/{created['id']}",
        "cpts",
        own,
        json={"name": "CPTS Grand Ajaccio", "siren": "552100554", "legal_form": "other"},
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["fields"] == ["legal_form", "siren"]
    assert "legal_form, siren" in problem["detail"] and "ARS or the CPAM" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["legal_form", "siren"]
    assert await database_state(api.db) == before  # type: ignore[arg-type]
    renamed = await api.call("PATCH", f"/v1/cpts/{created['id']}", "cpts", own, json={"name": "CPTS Grand Ajaccio"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "CPTS Grand Ajaccio"
    # Through the CPAM of the département, the SIREN and the legal form change.
    cpam = await api.call(
        "PATCH",
        f"/v1/cpts/{created['id']}",
        "cpam",
        {"departement": "2A"},
        json={"siren": "552100554", "legal_form": "other"},
    )
    assert cpam.status_code == 200, cpam.text
    assert (cpam.json()["siren"], cpam.json()["legal_form"]) == ("552100554", "other")


async def test_a_siren_change_keeps_the_siren_unique_and_the_siret_consistent(api: Api) -> None:
    corse = (await api.call("POST", "/v1/cpts", json={**CORSE, "siret": "73282932000074"})).json()
    paris = (await api.call("POST", "/v1/cpts", json=PARIS)).json()
    taken = await api.call("PATCH", f"/v1/cpts/{corse['id']}", json={"siren": paris["siren"]})
    assert taken.status_code == 409 and taken.json()["type"] == "/problems/duplicate-siren"
    inconsistent = await api.call("PATCH", f"/v1/cpts/{corse['id']}", json={"siren": "130025265"})
    assert inconsistent.status_code == 422  # its SIRET no longer starts with the SIREN
    both = await api.call("PATCH", f"/v1/cpts/{corse['id']}", json={"siren": "130025265", "siret": None})
    assert both.status_code == 200 and both.json()["siren"] == "130025265"


# -- territory: lists, counts and coverage --------------------------------------------------

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


@pytest.mark.parametrize(("role", "claims", "sees"), ROLES, ids=[caller_id(r, c) for r, c, _ in ROLES])
async def test_lists_and_reads_respect_the_territory(
    api: Api, role: str, claims: dict[str, Any], sees: set[str]
) -> None:
    ids = {}
    for name, body in (("corse", CORSE), ("paris", PARIS)):
        created = await api.call("POST", "/v1/cpts", json=body)
        assert created.status_code == 201
        ids[name] = created.json()["id"]
    claims = {k: (ids["corse"] if v == "SELF" else v) for k, v in claims.items()}
    listed = (await api.call("GET", "/v1/cpts", role=role, claims=claims)).json()
    assert listed["total"] == len(sees)
    assert {item["id"] for item in listed["items"]} == {ids[n] for n in sees}
    for region, name in (("94", "corse"), ("11", "paris")):
        filtered = (await api.call("GET", "/v1/cpts", role=role, claims=claims, params={"region": region})).json()
        assert filtered["total"] == (1 if name in sees else 0)
    for name, cpts_id in ids.items():
        answer = await api.call("GET", f"/v1/cpts/{cpts_id}", role=role, claims=claims)
        assert answer.status_code == (200 if name in sees else 404)


@pytest.mark.parametrize(("role", "claims", "sees"), ROLES, ids=[caller_id(r, c) for r, c, _ in ROLES])
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

    for body, region in ((CORSE, "94"), (PARIS, "11")):
        status = (await api.call("POST", "/v1/cpts", role=role, claims=claims, json=body)).status_code
        if not ACCESS.allows(Role(role), "cpts.register"):
            assert status == 403
        else:
            assert status == (201 if national or claims.get("region") == region else 403)


async def test_a_replay_never_answers_a_caller_outside_the_body_territory(api: Api) -> None:
    """Hole 5: the same subject and key, now holding another region's token, gets a 403 and
    not the stored answer (territory is checked before the replay)."""
    key = {"Idempotency-Key": "register-corse"}
    first = await api.call("POST", "/v1/cpts", "ars", {"region": "94", "subject": "agent"}, json=CORSE, headers=key)
    assert first.status_code == 201
    again = await api.call("POST", "/v1/cpts", "ars", {"region": "94", "subject": "agent"}, json=CORSE, headers=key)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    elsewhere = await api.call("POST", "/v1/cpts", "ars", {"region": "11", "subject": "agent"}, json=CORSE, headers=key)
    assert elsewhere.status_code == 403 and "Idempotent-Replayed" not in elsewhere.headers
    assert elsewhere.json()["type"] == "/problems/outside-territory"
