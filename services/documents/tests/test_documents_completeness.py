"""Completeness: what each CPTS owes for a year, received / missing / late / incomplete, the
national roles' requirements, lists by region and département, and the idempotent overdue
check (one event per CPTS, year and document)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from documents_helpers import CORPUS, CORSE_ID, PARIS_ID, PDF, SPENDING, VALID_FEC, Api, registered, seed
from sqlalchemy import select

from cpts_documents.domain import completeness as rules
from cpts_documents.domain.types import DocumentType, Verdict
from cpts_kit.outbox import OutboxEvent


def _items(view: dict[str, object]) -> dict[str, str]:
    return {i["requirement"]: i["status"] for i in view["items"]}  # type: ignore[index, union-attr]


async def test_a_cpts_year_goes_from_missing_to_complete(api: Api) -> None:
    before = (await api.call("GET", f"/v1/cpts/{CORSE_ID}/completeness/2024", params={"as_of": "2025-03-01"})).json()
    assert before["status"] == "missing" and set(_items(before).values()) == {"missing"}
    late = (await api.call("GET", f"/v1/cpts/{CORSE_ID}/completeness/2024", params={"as_of": "2025-07-01"})).json()
    assert late["status"] == "late" and all(i["overdue"] for i in late["items"])
    await api.upload(CORSE_ID, (CORPUS / "error_unbalanced_entry.txt").read_bytes())
    await api.upload(CORSE_ID, PDF, "activity_report", financial_part=False)
    await api.upload(CORSE_ID, PDF + b"bilan", "balance_sheet")
    view = (await api.call("GET", f"/v1/cpts/{CORSE_ID}/completeness/2024", params={"as_of": "2025-03-01"})).json()
    assert _items(view) == {
        "accounts": "incomplete",
        "balance_sheet": "received",
        "activity_report": "incomplete",
        "spending_statement": "missing",
    }
    assert view["status"] == "incomplete"
    reasons = {i["requirement"]: i["reason"] for i in view["items"]}
    assert "rejected" in reasons["accounts"] and "financial part" in reasons["activity_report"]
    await api.upload(CORSE_ID, VALID_FEC)
    await api.upload(CORSE_ID, PDF + b"complet", "activity_report", financial_part=True)
    await api.upload(CORSE_ID, SPENDING, "spending_statement")
    done = (await api.call("GET", f"/v1/cpts/{CORSE_ID}/completeness/2024")).json()
    assert done["status"] == "complete" and set(_items(done).values()) == {"received"}
    assert all(i["received_after_deadline"] for i in done["items"])  # received in 2026, due 30 June 2025


async def test_lists_by_region_and_departement_with_status_filters(api: Api) -> None:
    await seed(
        api.db, [registered("33333333-3333-4333-8333-333333333333", region="94", departement="2B", name="CPTS Bastia")]
    )
    await seed(
        api.db,
        [
            registered(
                "44444444-4444-4444-8444-444444444444",
                region="94",
                departement="2A",
                name="CPTS Sartène",
                aci_signed_on=None,
                status="health_project_validated",
            )
        ],
    )
    for document in (VALID_FEC,):
        await api.upload(CORSE_ID, document)
    everything = (await api.call("GET", "/v1/completeness", params={"year": 2024})).json()
    assert everything["total"] == 3  # the CPTS without an ACI signature owes nothing by default
    corse = (await api.call("GET", "/v1/completeness", params={"year": 2024, "region": "94"})).json()
    assert [i["name"] for i in corse["items"]] == ["CPTS Bastia", "CPTS du Pays Ajaccien"]
    two_a = (await api.call("GET", "/v1/completeness", params={"year": 2024, "departement": "2A"})).json()
    assert [i["cpts_id"] for i in two_a["items"]] == [CORSE_ID]
    late = (await api.call("GET", "/v1/completeness", params={"year": 2024, "status": "late"})).json()
    assert late["total"] == 3
    missing = (
        await api.call("GET", "/v1/completeness", params={"year": 2024, "status": "missing", "as_of": "2025-01-10"})
    ).json()
    assert {i["cpts_id"] for i in missing["items"]} == {CORSE_ID, PARIS_ID, "33333333-3333-4333-8333-333333333333"}
    corse_items = next(i for i in missing["items"] if i["cpts_id"] == CORSE_ID)["items"]
    assert _items({"items": corse_items})["accounts"] == "received"
    complete = (await api.call("GET", "/v1/completeness", params={"year": 2024, "status": "complete"})).json()
    assert complete["total"] == 0
    ars = (
        await api.call(
            "GET", "/v1/completeness", role="ars", claims={"region": "11"}, params={"year": 2024, "region": "94"}
        )
    ).json()
    assert ars["total"] == 0


async def test_national_roles_configure_the_requirements_of_a_year(api: Api) -> None:
    default = (await api.call("GET", "/v1/requirements/2025")).json()
    assert default["default"] is True and default["deadline"] == "2026-06-30"
    assert [i["code"] for i in default["items"]] == [
        "accounts",
        "balance_sheet",
        "activity_report",
        "spending_statement",
    ]
    body = {
        "deadline": "2026-04-30",
        "applies_to": "all",
        "items": [
            {"code": "fec", "label": "FEC", "accepted_types": ["fec"]},
            {"code": "budget", "label": "Budget prévisionnel", "accepted_types": ["budget"], "deadline": "2025-01-31"},
        ],
    }
    put = await api.call("PUT", "/v1/requirements/2025", json=body)
    assert put.status_code == 200 and put.json()["default"] is False
    view = (await api.call("GET", f"/v1/cpts/{CORSE_ID}/completeness/2025", params={"as_of": "2025-03-01"})).json()
    assert _items(view) == {"fec": "missing", "budget": "late"}
    assert (
        await api.call("PUT", "/v1/requirements/2025", role="ars", claims={"region": "94"}, json=body)
    ).status_code == 403
    duplicate = {**body, "items": [body["items"][0], body["items"][0]]}
    assert (await api.call("PUT", "/v1/requirements/2025", json=duplicate)).status_code == 422
    assert (await api.call("DELETE", "/v1/requirements/2025")).json()["default"] is True


async def test_the_overdue_check_sends_one_event_per_cpts_year_and_document(api: Api) -> None:
    await api.upload(CORSE_ID, VALID_FEC)
    await api.upload(CORSE_ID, PDF, "activity_report", financial_part=False)
    first = await api.call("POST", "/v1/completeness/overdue-check", params={"as_of": "2025-07-01"})
    assert first.status_code == 200
    # Corse: balance sheet (late), activity report (incomplete), spending (late); Paris: all four.
    assert first.json()["new_overdue_events"] == 7 and 2024 in first.json()["years"]
    again = await api.call("POST", "/v1/completeness/overdue-check", params={"as_of": "2025-07-01"})
    assert again.json()["new_overdue_events"] == 0
    async with api.db.sessionmaker() as session:
        rows = list(
            await session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "fr.cpts.documents.document.overdue.v1")
            )
        )
    events = [json.loads(r.body) for r in rows]
    assert len(events) == 7
    keys = {(e["subject"], e["data"]["fiscal_year"], e["data"]["requirement"]) for e in events}
    assert len(keys) == 7
    corse = {e["data"]["requirement"]: e["data"]["status"] for e in events if e["subject"] == CORSE_ID}
    assert corse == {"balance_sheet": "late", "activity_report": "incomplete", "spending_statement": "late"}
    future = await api.call("POST", "/v1/completeness/overdue-check", params={"as_of": "2999-01-01"})
    assert future.status_code == 422


def test_rules_on_their_own() -> None:
    requirements = rules.default_requirements(2024)
    received = datetime(2025, 5, 1, tzinfo=UTC)
    documents = [
        rules.HeldDocument("a", DocumentType.INCOME_STATEMENT, Verdict.ACCEPTED, None, received),
        rules.HeldDocument("b", DocumentType.FEC, Verdict.REJECTED, None, received, error_count=3),
    ]
    states = {s.requirement.code: s for s in rules.evaluate(requirements, documents, date(2025, 7, 1))}
    assert states["accounts"].status is rules.ItemStatus.RECEIVED  # a compte de résultat will do
    assert states["balance_sheet"].status is rules.ItemStatus.LATE and states["balance_sheet"].overdue
    standing = rules.CptsStanding("aci_signed", date(2024, 3, 1), date(2024, 3, 1))
    assert rules.owes(standing, requirements)
    assert not rules.owes(rules.CptsStanding("aci_signed", date(2025, 3, 1), date(2025, 3, 1)), requirements)
    assert not rules.owes(rules.CptsStanding("dissolved", date(2023, 6, 1), date(2020, 1, 1)), requirements)
