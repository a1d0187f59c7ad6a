"""Uploads end to end through the API: metadata with the validation report, the same bytes
again, Idempotency-Key replays, versions, raw-body uploads, downloads byte for byte, the
accounting summary and the spending per mission."""

from __future__ import annotations

import csv
import hashlib
import io
import json

from documents_helpers import CORPUS, CORSE_ID, PDF, SPENDING, VALID_FEC, Api

REFERENCE = json.loads((CORPUS / "expected.json").read_text())["reference_summary"]


async def test_a_valid_fec_is_received_validated_and_summarised(api: Api) -> None:
    answer = await api.upload(CORSE_ID, VALID_FEC)
    assert answer.status_code == 201, answer.text
    document = answer.json()
    assert answer.headers["location"] == f"/v1/documents/{document['id']}"
    assert document["validation"] == {
        "verdict": "accepted",
        "errors": [],
        "warnings": [],
        "error_count": 0,
        "warning_count": 0,
    }
    assert document["sha256"] == hashlib.sha256(VALID_FEC).hexdigest() and document["size"] == len(VALID_FEC)
    assert document["type"] == "fec" and document["version"] == 1 and document["is_current"]
    assert document["media_type"] == "text/plain" and document["original_filename"] == "732829320FEC20241231.txt"
    assert document["stats"]["lines"] == 38 and document["stats"]["entries"] == 16
    assert document["stats"]["separator"] == "tab" and document["stats"]["amount_layout"] == "debit_credit"
    fetched = await api.call("GET", f"/v1/documents/{document['id']}")
    assert fetched.status_code == 200 and fetched.json() == document
    content = await api.call("GET", f"/v1/documents/{document['id']}/content")
    assert content.status_code == 200 and content.content == VALID_FEC
    assert content.headers["content-disposition"] == 'attachment; filename="fec-2024-v1.txt"'
    assert content.headers["x-content-type-options"] == "nosniff"
    accounts = await api.call("GET", f"/v1/cpts/{CORSE_ID}/accounts/2024")
    assert accounts.status_code == 200, accounts.text
    summary = accounts.json()["summary"]
    for key in ("revenue_total", "expense_total", "result", "revenue_by_category", "expense_by_category", "reserves"):
        assert summary[key] == REFERENCE[key]
    assert [[f["line"], f["account"], f["reason"]] for f in summary["flagged_entries"]] == REFERENCE["flagged"]
    assert set(summary["flagged_entries"][0]) >= {"line", "account", "label", "amount", "reason"}


async def test_the_file_name_is_checked_against_the_cpts_siren_from_the_registry(api: Api) -> None:
    # The projection holds the SIREN the registry published (732829320): another entity's FEC.
    other = await api.upload(CORSE_ID, VALID_FEC, filename="552100554FEC20241231.txt")
    assert other.status_code == 201, other.text
    validation = other.json()["validation"]
    assert validation["verdict"] == "rejected"
    assert [(e["code"], e["line"]) for e in validation["errors"]] == [("E_FILE_NAME_SIREN", 0)]
    assert other.json()["stats"]["file_name_siren"] == "552100554"
    unnamed = await api.upload(CORSE_ID, VALID_FEC + b"\n", filename="export.txt")
    assert unnamed.json()["validation"]["verdict"] == "accepted_with_warnings"
    assert {w["code"] for w in unnamed.json()["validation"]["warnings"]} == {"W_FILE_NAME", "W_TRAILING_EMPTY_LINES"}


async def test_a_rejected_fec_is_kept_with_its_report(api: Api) -> None:
    bad = (CORPUS / "error_unbalanced_entry.txt").read_bytes()
    answer = await api.upload(CORSE_ID, bad)
    assert answer.status_code == 201
    validation = answer.json()["validation"]
    assert validation["verdict"] == "rejected"
    assert validation["errors"] == [
        {
            "line": 8,
            "column": "EcritureNum",
            "code": "E_UNBALANCED_ENTRY",
            "message": "Entry BQ 2 is not balanced once all its lines are summed: debit 120000.01, credit 120000.00",
        }
    ]
    no_summary = await api.call("GET", f"/v1/cpts/{CORSE_ID}/accounts/2024")
    assert no_summary.status_code == 404 and "rejected" in no_summary.json()["detail"]
    assert (await api.counts())[0] == 1


async def test_the_same_bytes_twice_are_the_same_document(api: Api) -> None:
    first = await api.upload(CORSE_ID, VALID_FEC)
    again = await api.upload(CORSE_ID, VALID_FEC, raw=True)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    documents, events, files = await api.counts()
    assert (documents, files) == (1, 1)
    assert events == 2  # received + accounts summarised, once


async def test_an_idempotency_key_replays_the_first_answer(api: Api) -> None:
    first = await api.upload(CORSE_ID, VALID_FEC, key="push-2024-1")
    replay = await api.upload(CORSE_ID, VALID_FEC, key="push-2024-1")
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    other = await api.upload(CORSE_ID, PDF, "income_statement", key="push-2024-1")
    assert other.status_code == 422 and other.json()["type"] == "/problems/idempotency-key-reused"
    assert (await api.counts())[0] == 1


async def test_a_new_version_replaces_the_previous_one_and_keeps_it(api: Api) -> None:
    first = (await api.upload(CORSE_ID, (CORPUS / "error_dates.txt").read_bytes())).json()
    second = (await api.upload(CORSE_ID, VALID_FEC)).json()
    assert second["version"] == 2 and second["replaces"] == first["id"] and second["is_current"]
    old = (await api.call("GET", f"/v1/documents/{first['id']}")).json()
    assert old["is_current"] is False and old["superseded_at"] is not None
    listed = (await api.call("GET", f"/v1/cpts/{CORSE_ID}/documents")).json()
    assert listed["total"] == 2 and [d["version"] for d in listed["items"]] == [2, 1]
    current = (await api.call("GET", f"/v1/cpts/{CORSE_ID}/documents", params={"current_only": "true"})).json()
    assert [d["id"] for d in current["items"]] == [second["id"]]
    old_bytes = await api.call("GET", f"/v1/documents/{first['id']}/content")
    assert old_bytes.content == (CORPUS / "error_dates.txt").read_bytes()
    # Supporting documents accumulate instead of replacing each other.
    one = await api.upload(CORSE_ID, PDF, "supporting_document", filename="facture.pdf")
    two = await api.upload(CORSE_ID, PDF + b"%2", "supporting_document", filename="facture2.pdf")
    assert one.json()["is_current"] and two.json()["is_current"] and two.json()["replaces"] is None


async def test_raw_body_uploads_take_their_fields_as_query_parameters(api: Api) -> None:
    answer = await api.upload(
        CORSE_ID, PDF, "activity_report", raw=True, financial_part=True, filename="../../rapport.pdf"
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["media_type"] == "application/pdf" and body["financial_part"] is True
    assert body["original_filename"] == "rapport.pdf"
    missing = await api.upload(CORSE_ID, PDF, "activity_report", raw=True)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "financial_part"
    wrong = await api.upload(CORSE_ID, PDF, "bilan", year=1999)
    assert wrong.status_code == 422
    assert {e["field"] for e in wrong.json()["errors"]} == {"type", "fiscal_year"}


async def test_a_spending_statement_yields_spending_per_mission(api: Api) -> None:
    answer = await api.upload(CORSE_ID, SPENDING, "spending_statement", filename="depenses.csv")
    assert answer.status_code == 201 and answer.json()["validation"]["verdict"] == "accepted"
    spending = (await api.call("GET", f"/v1/cpts/{CORSE_ID}/spending/2024")).json()["spending"]
    assert spending["by_mission"] == {
        "access_to_care": "15600.00",
        "care_pathways": "0.00",
        "prevention": "2500.00",
        "crisis_response": "0.00",
        "quality_relevance": "0.00",
        "professional_support": "0.00",
        "functioning": "7200.00",
        "outside_missions": "0.00",
    }
    assert spending["total"] == "25300.00" and spending["items"] == 4
    bad = SPENDING + b"teleconsultation;staff;Truc;abc;\n"
    rejected = (await api.upload(CORSE_ID, bad, "spending_statement")).json()["validation"]
    assert rejected["verdict"] == "rejected"
    assert [(e["line"], e["column"], e["code"]) for e in rejected["errors"]] == [
        (6, "mission", "S_MISSION"),
        (6, "amount", "S_AMOUNT_FORMAT"),
    ]
    template = await api.call("GET", "/v1/spending-template")
    assert template.status_code == 200 and template.text.startswith("mission;nature;label;amount;document_ref")


async def test_uploads_for_a_cpts_the_projection_does_not_know_are_404(api: Api) -> None:
    answer = await api.upload("33333333-3333-4333-8333-333333333333", VALID_FEC)
    assert answer.status_code == 404 and answer.json()["type"] == "/problems/not-found"
    assert await api.counts() == (0, 0, 0)


async def test_reference_tables_are_published(api: Api) -> None:
    chart = (await api.call("GET", "/v1/chart-of-accounts")).json()
    assert {"prefix": "7542", "category": "private_companies"}.items() <= next(
        r for r in chart if r["prefix"] == "7542"
    ).items()
    missions = (await api.call("GET", "/v1/missions")).json()
    assert len(missions) == 8  # the kit's missions: the six of the ACI, functioning, outside missions


def test_every_csv_written_neutralises_formulas() -> None:
    from cpts_documents.api.accounts import safe_csv

    hostile = 'mission;label;amount\nprevention;=HYPERLINK("http://x","clic");+12\n@SUM(A1);\tcmd;-3\n'
    rows = list(csv.reader(io.StringIO(safe_csv(hostile)), delimiter=";"))
    assert rows == [
        ["mission", "label", "amount"],
        ["prevention", '\'=HYPERLINK("http://x","clic")', "'+12"],
        ["'@SUM(A1)", "'\tcmd", "'-3"],
    ]


async def test_the_spending_template_is_served_through_the_csv_guard(api: Api) -> None:
    from cpts_documents.domain.spending import template

    served = await api.call("GET", "/v1/spending-template")
    assert served.headers["content-type"].startswith("text/csv")
    assert served.text == template()  # nothing in it looks like a formula: unchanged
