"""The registry's HTTP contract on PostgreSQL and SQLite: migrations, CRUD, lifecycle,
territory, members, governance, coverage, validation errors and idempotency."""

from __future__ import annotations

from typing import Any

from registry_helpers import AFA, AJACCIO, ALATA, Api, cpts_body
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from cpts_kit.service import upgrade
from cpts_registry.service import spec

PROBLEM = "application/problem+json"


async def register(api: Api, **overrides: Any) -> dict[str, Any]:
    answer = await api.call("POST", "/v1/cpts", json=cpts_body(**overrides))
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_migrations_create_every_table_from_empty(database_url: str) -> None:
    await upgrade(spec, database_url)
    await upgrade(spec, database_url)  # a second run is a no-op
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    assert {
        "cpts",
        "cpts_territory",
        "cpts_status_history",
        "cpts_members",
        "cpts_board",
        "outbox",
        "inbox",
        "idempotency_keys",
        "alembic_version",
    } <= tables


async def test_register_read_and_list(api: Api) -> None:
    created = await register(api)
    assert created["status"] == "intention_letter_signed"
    assert created["population"] == 76_320 + 3_681
    assert created["size_tier"] == "T3"  # 80,001 inhabitants: just over the T3 floor
    assert created["communes"] == [AJACCIO, ALATA]
    assert created["attachment_ars"] == "94" and created["attachment_cpam"] == "2A"
    assert created["status_history"] == [
        {"status": "intention_letter_signed", "effective_date": "2021-03-01", "reason": "registration"}
    ]

    read = await api.call("GET", f"/v1/cpts/{created['id']}")
    assert read.status_code == 200 and read.json() == created
    assert read.headers["etag"] == '"1"'

    await register(api, siren="552100554", name="CPTS Bastia", departement="2B", communes=["2B033"])
    listed = (await api.call("GET", "/v1/cpts", params={"limit": 1})).json()
    assert listed["total"] == 2 and listed["limit"] == 1 and listed["offset"] == 0
    assert [c["name"] for c in listed["items"]] == ["CPTS Bastia"]
    second = (await api.call("GET", "/v1/cpts", params={"limit": 1, "offset": 1})).json()
    assert [c["name"] for c in second["items"]] == ["CPTS du Pays Ajaccien"]
    by_dep = (await api.call("GET", "/v1/cpts", params={"departement": "2A"})).json()
    assert [c["id"] for c in by_dep["items"]] == [created["id"]]
    by_tier = (await api.call("GET", "/v1/cpts", params={"size_tier": "T2"})).json()
    assert [c["name"] for c in by_tier["items"]] == ["CPTS Bastia"]
    by_status = (await api.call("GET", "/v1/cpts", params={"status": "aci_signed"})).json()
    assert by_status["total"] == 0
    by_name = (await api.call("GET", "/v1/cpts", params={"name": "ajacc"})).json()
    assert by_name["total"] == 1


async def test_patch_changes_identity_and_checks_the_etag(api: Api) -> None:
    created = await register(api)
    url = f"/v1/cpts/{created['id']}"
    # Read first: the detail and the list are kept in the read cache until the next write.
    before = await api.call("GET", url)
    assert before.headers["ETag"] == '"1"' and before.json()["name"] == created["name"]
    assert [c["name"] for c in (await api.call("GET", "/v1/cpts")).json()["items"]] == [created["name"]]
    changed = await api.call(
        "PATCH", url, json={"name": "CPTS Grand Ajaccio", "finess": "2A0012345"}, headers={"If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "CPTS Grand Ajaccio" and changed.json()["version"] == 2
    stale = await api.call("PATCH", url, json={"name": "Another"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.headers["content-type"] == PROBLEM
    bad_siret = await api.call("PATCH", url, json={"siret": "55210055400013"})
    assert bad_siret.status_code == 422
    assert bad_siret.json()["errors"][0]["field"] == "siret"
    after = await api.call("GET", url)  # the write made the kept answers stale: read again
    assert after.json()["name"] == "CPTS Grand Ajaccio" and after.headers["ETag"] == '"2"'
    assert [c["name"] for c in (await api.call("GET", "/v1/cpts")).json()["items"]] == ["CPTS Grand Ajaccio"]


async def test_lifecycle_allows_only_the_defined_transitions(api: Api) -> None:
    created = await register(api)
    url = f"/v1/cpts/{created['id']}/transitions"
    refused = await api.call("POST", url, json={"to": "aci_signed", "effective_date": "2021-06-01"})
    assert refused.status_code == 409
    problem = refused.json()
    assert refused.headers["content-type"] == PROBLEM
    assert problem["type"] == "/problems/invalid-transition"
    assert problem["allowed_transitions"] == ["health_project_validated", "dissolved"]
    assert "health_project_validated" in problem["detail"]

    for to, when in (
        ("health_project_validated", "2021-06-01"),
        ("aci_signed", "2021-11-15"),
        ("suspended", "2023-01-10"),
        ("aci_signed", "2023-03-01"),
    ):
        role = "dgos" if to == "health_project_validated" else "cnam"  # the State's decision, the ACI the Cnam's
        moved = await api.call("POST", url, role, json={"to": to, "effective_date": when, "reason": "test"})
        assert moved.status_code == 200, moved.text
    cpts = moved.json()
    assert cpts["status"] == "aci_signed" and cpts["status_since"] == "2023-03-01"
    assert cpts["aci_signed_on"] == "2021-11-15"  # the first signature, not the resumption
    assert cpts["contract_anniversary"].endswith("-11-15")
    assert [h["status"] for h in cpts["status_history"]] == [
        "intention_letter_signed",
        "health_project_validated",
        "aci_signed",
        "suspended",
        "aci_signed",
    ]
    backwards = await api.call("POST", url, json={"to": "suspended", "effective_date": "2022-01-01"})
    assert backwards.status_code == 409 and "before the current status date" in backwards.json()["detail"]
    dissolved = await api.call("POST", url, json={"to": "dissolved", "effective_date": "2024-01-01"})
    assert dissolved.status_code == 200
    final = await api.call("POST", url, json={"to": "aci_signed", "effective_date": "2024-02-01"})
    assert final.status_code == 409 and final.json()["allowed_transitions"] == []


async def test_territory_recomputes_population_and_tier(api: Api) -> None:
    created = await register(api)
    url = f"/v1/cpts/{created['id']}/territory"
    answer = await api.call("PUT", url, json={"communes": [AJACCIO]})
    assert answer.json() == {"cpts_id": created["id"], "communes": [AJACCIO], "population": 76_320, "size_tier": "T2"}
    unknown = await api.call("PUT", url, json={"communes": [AJACCIO, "2A999", "99999"]})
    assert unknown.status_code == 422
    assert unknown.json()["unknown_communes"] == ["2A999", "99999"]
    assert [e["message"] for e in unknown.json()["errors"]] == ["unknown commune 2A999", "unknown commune 99999"]
    outside = await api.call("PUT", url, json={"communes": ["75056"]})
    assert outside.status_code == 422 and outside.json()["type"] == "/problems/communes-outside-region"
    assert (await api.call("GET", url)).json()["communes"] == [AJACCIO]


async def test_paris_stands_for_its_arrondissements(api: Api) -> None:
    created = await register(api, region="11", departement="75", communes=["75056"], name="CPTS Paris")
    assert len(created["communes"]) == 20 and all(c.startswith("751") for c in created["communes"])
    assert created["size_tier"] == "T4"


async def test_members_and_governance(api: Api) -> None:
    created = await register(api)
    base = f"/v1/cpts/{created['id']}"
    reported = await api.call(
        "PUT", f"{base}/members/2024", json={"counts": {"medecin_generaliste": 12, "infirmier": 30, "pharmacien": 0}}
    )
    assert reported.status_code == 200
    assert reported.json() == {
        "cpts_id": created["id"],
        "year": 2024,
        "counts": {"infirmier": 30, "medecin_generaliste": 12},
        "total": 42,
    }
    await api.call("PUT", f"{base}/members/2024", json={"counts": {"medecin_generaliste": 14}})
    assert (await api.call("GET", f"{base}/members/2024")).json()["total"] == 14
    assert (await api.call("GET", f"{base}/members/2023")).status_code == 404
    wrong = await api.call("PUT", f"{base}/members/2024", json={"counts": {"astrologue": 1, "infirmier": -2}})
    assert wrong.status_code == 422
    assert {e["field"] for e in wrong.json()["errors"]} == {"counts.astrologue.[key]", "counts.infirmier"}
    future = await api.call("PUT", f"{base}/members/2099", json={"counts": {}})
    assert future.status_code == 422

    board = [
        {"name": "Claire Martin", "role": "president", "profession": "medecin_generaliste"},
        {"name": "Marc Petit", "role": "treasurer", "profession": "pharmacien"},
        {"name": "Anne Roux", "role": "member", "profession": "elu_local"},
    ]
    governance = await api.call("PUT", f"{base}/governance", json={"board": board})
    assert governance.status_code == 200
    assert governance.json()["non_health_members"] == 1
    assert [m["health_profession"] for m in governance.json()["board"]] == [True, True, False]
    assert (await api.call("GET", f"{base}/governance")).json() == governance.json()


async def test_coverage_of_a_hand_checked_departement(api: Api) -> None:
    first = await register(api)  # Ajaccio 76,320 + Alata 3,681
    await register(api, siren="552100554", name="CPTS Gravona", communes=[ALATA, AFA])  # + Afa 3,350
    dissolved = await register(api, siren="542107651", name="Old project", communes=["2A041"])
    await api.call(
        "POST", f"/v1/cpts/{dissolved['id']}/transitions", json={"to": "dissolved", "effective_date": "2022-01-01"}
    )

    corse_du_sud = (await api.call("GET", "/v1/coverage", params={"departement": "2A"})).json()
    # Corse-du-Sud: 124 communes, 168,306 inhabitants in the vendored INSEE data.
    assert corse_du_sud["level"] == "departement" and corse_du_sud["name"] == "Corse-du-Sud"
    assert corse_du_sud["population"] == 168_306 and corse_du_sud["communes"] == 124
    assert corse_du_sud["covered_population"] == 76_320 + 3_681 + 3_350
    assert corse_du_sud["uncovered_population"] == 168_306 - 83_351
    assert abs(corse_du_sud["uncovered_share"] - 84_955 / 168_306) < 1e-6
    assert len(corse_du_sud["uncovered_communes"]) == 121
    assert "2A041" in {c["code"] for c in corse_du_sud["uncovered_communes"]}  # the dissolved CPTS covers nothing
    assert [(o["code"], o["claims"]) for o in corse_du_sud["overlapping_communes"]] == [(ALATA, 2)]
    assert first["id"] in corse_du_sud["overlapping_communes"][0]["cpts_ids"]
    assert corse_du_sud["active_cpts"] == 2

    corse = (await api.call("GET", "/v1/coverage", params={"region": "94"})).json()
    assert corse["population"] == 355_486 and corse["covered_population"] == 83_351
    nation = (await api.call("GET", "/v1/coverage")).json()
    assert nation["level"] == "nation" and nation["covered_population"] == 83_351
    assert nation["population"] == 68_350_798
    unknown = await api.call("GET", "/v1/coverage", params={"departement": "99"})
    assert unknown.status_code == 404


async def test_validation_errors_are_problems_with_field_paths(api: Api) -> None:
    answer = await api.call("POST", "/v1/cpts", json=cpts_body(siren="123456789", communes=[], region="9"))
    assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert (
        problem["type"] == "/problems/validation-error"
        and problem["status"] == 422
        and problem["instance"] == "/v1/cpts"
    )
    fields = {e["field"]: e["message"] for e in problem["errors"]}
    assert set(fields) == {"siren", "communes", "region"}
    assert "Luhn" in fields["siren"]
    wrong_dep = await api.call("POST", "/v1/cpts", json=cpts_body(departement="75"))
    assert wrong_dep.status_code == 422 and wrong_dep.json()["errors"][0]["field"] == "departement"
    wrong_type = await api.call("POST", "/v1/cpts", json=cpts_body(intention_letter_signed_on="yesterday"))
    assert wrong_type.json()["errors"][0]["field"] == "intention_letter_signed_on"
    extra = await api.call("POST", "/v1/cpts", json=cpts_body(budget=12))
    assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "budget"
    not_json = await api.call("POST", "/v1/cpts", content=b"{not json", headers={"Content-Type": "application/json"})
    assert not_json.status_code == 422 and not_json.headers["content-type"] == PROBLEM
    huge = await api.call(
        "POST",
        "/v1/cpts",
        content=b"x" * (api.settings.max_body_bytes + 1),
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413 and huge.json()["type"] == "/problems/payload-too-large"
    missing = await api.call("GET", "/v1/cpts/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    bad_page = await api.call("GET", "/v1/cpts", params={"limit": 0})
    assert bad_page.status_code == 422 and bad_page.json()["errors"][0]["field"] == "limit"
    assert (await api.call("GET", "/v1/cpts")).json()["total"] == 0  # nothing was half-written


async def test_duplicate_siren_is_a_conflict(api: Api) -> None:
    await register(api)
    again = await api.call("POST", "/v1/cpts", json=cpts_body(name="Other"))
    assert again.status_code == 409 and again.json()["type"] == "/problems/duplicate-siren"


async def test_idempotent_creation(api: Api) -> None:
    key = {"Idempotency-Key": "create-ajaccio-1"}
    first = await api.call("POST", "/v1/cpts", json=cpts_body(), headers=key)
    replay = await api.call("POST", "/v1/cpts", json=cpts_body(), headers=key)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json() and replay.headers["idempotent-replayed"] == "true"
    assert (await api.call("GET", "/v1/cpts")).json()["total"] == 1
    reused = await api.call("POST", "/v1/cpts", json=cpts_body(name="Different"), headers=key)
    assert reused.status_code == 422 and reused.json()["type"] == "/problems/idempotency-key-reused"


async def test_unauthenticated_calls_are_refused(api: Api) -> None:
    assert (await api.client.get("/v1/cpts")).status_code == 401
    forged = await api.client.get("/v1/cpts", headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401 and forged.headers["content-type"] == PROBLEM
    assert forged.headers["www-authenticate"].startswith("Bearer")
    no_territory = await api.call("GET", "/v1/cpts", role="ars")
    assert no_territory.status_code == 401
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}


async def test_a_huge_offset_is_a_422_problem_not_a_500(api: Api) -> None:
    for offset in (str(2**63), str(2**64 + 1), "10000001"):
        answer = await api.call("GET", "/v1/cpts", params={"offset": offset})
        assert answer.status_code == 422, offset
        assert answer.headers["content-type"] == PROBLEM
        assert [e["field"] for e in answer.json()["errors"]] == ["offset"]
    assert (await api.call("GET", "/v1/cpts", params={"offset": "10000000"})).json()["items"] == []
