"""FEC parsing and validation on the hand-checked corpus, and the accounting summary."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cpts_documents.domain.fec import COLUMNS, FecValidator, Period, parse_cents, validate_fec
from cpts_documents.domain.flags import BoardMember, FlagContext
from cpts_documents.domain.summary import AccountsSummariser
from cpts_documents.events.payloads import AccountsSummary

CORPUS = Path(__file__).parent / "fec_corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
YEAR_2024 = Period.calendar_year(2024)


def run(name: str, context: FlagContext | None = None) -> tuple[Any, dict[str, Any]]:
    summariser = AccountsSummariser(context)
    with (CORPUS / name).open("rb") as handle:
        report = validate_fec(handle, YEAR_2024, sink=summariser)
    return report, AccountsSummary.model_validate(summariser.result()).model_dump(mode="json")


def test_every_corpus_file_has_an_expectation() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.txt")) == sorted(EXPECTED["files"])


@pytest.mark.parametrize("name", sorted(EXPECTED["files"]))
def test_corpus_verdicts_errors_and_warnings(name: str) -> None:
    expected = EXPECTED["files"][name]
    report, summary = run(name)
    assert report.verdict.value == expected["verdict"], report.as_dict()
    if "errors_include" in expected:
        assert set(expected["errors_include"]) <= {e.code for e in report.errors}
        return
    assert [[e.code, e.line, e.column] for e in report.errors] == expected["errors"]
    assert sorted({w.code for w in report.warnings}) == expected["warnings"]
    for issue in report.errors + report.warnings:
        assert issue.message
    if expected.get("summary") == "reference":
        reference = EXPECTED["reference_summary"]
        for key in (
            "revenue_total",
            "expense_total",
            "result",
            "revenue_by_category",
            "revenue_by_group",
            "expense_by_category",
            "balance_sheet",
            "reserves",
            "fixed_asset_purchases",
        ):
            assert summary[key] == reference[key], key
        assert [[f["line"], f["account"], f["reason"]] for f in summary["flagged_entries"]] == reference["flagged"]


def test_the_report_has_the_published_shape() -> None:
    report, _ = run("error_dates.txt")
    shape = report.as_dict()
    assert shape["verdict"] == "rejected"
    assert set(shape["errors"][0]) == {"line", "column", "code", "message"}
    assert shape["error_count"] == len(shape["errors"])


def test_amounts() -> None:
    assert parse_cents("1234,56") == (123456, False)
    assert parse_cents("1234.5") == (123450, True)
    assert parse_cents("-12,00") == (-1200, False)
    assert parse_cents("12,00-") == (-1200, False)
    assert parse_cents("0,000") == (0, False)
    for bad in ("1 234,56", "1.234,56", "12,345", "abc", "", "+-1"):
        assert parse_cents(bad)[0] is None, bad


def _fec(rows: list[list[str]]) -> bytes:
    return ("\t".join(COLUMNS) + "\n" + "".join("\t".join(r) + "\n" for r in rows)).encode()


def _line(num: str, account: str, debit: str, credit: str, label: str = "Libellé") -> list[str]:
    head = ["BQ", "Banque", num, "20240301", account, "Compte", "", "", "P" + num, "20240301", label]
    return [*head, debit, credit, "", "", "20240302", "", ""]


def test_interleaved_entries_keep_only_open_ones_in_memory() -> None:
    # Entries 1..2000 interleaved by pairs: 1a 2a 1b 2b 3a 4a 3b 4b ... all balanced.
    rows = []
    for first in range(1, 2000, 2):
        a, b = str(first), str(first + 1)
        rows += [
            _line(a, "512000", "10,00", "0,00"),
            _line(b, "512000", "20,00", "0,00"),
            _line(a, "706000", "0,00", "10,00"),
            _line(b, "706000", "0,00", "20,00"),
        ]
    validator = FecValidator(YEAR_2024, max_open_entries=4)
    report = validator.run(io.BytesIO(_fec(rows)))
    assert report.verdict.value == "accepted_with_warnings", report.as_dict()
    assert {w.code for w in report.warnings} == {"W_NON_CONTIGUOUS_ENTRY"}
    assert validator.stats.entries == 2000 and not validator._open


def test_too_many_open_entries_is_refused_with_bounded_memory() -> None:
    rows = [_line(str(n), "512000", "10,00", "0,00") for n in range(1, 50)]
    rows += [_line(str(n), "706000", "0,00", "10,00") for n in range(1, 50)]
    report = FecValidator(YEAR_2024, max_open_entries=10).run(io.BytesIO(_fec(rows)))
    assert "E_TOO_MANY_OPEN_ENTRIES" in {e.code for e in report.errors}


def test_issue_lists_are_capped_and_counts_exact() -> None:
    rows = [_line(str(n), "512000", "10,00", "0,00") for n in range(1, 301)]
    report = validate_fec(io.BytesIO(_fec(rows)), YEAR_2024, max_listed=50)
    assert report.error_count == 300 and len(report.errors) == 50


def test_board_members_and_their_professions_are_flagged() -> None:
    board = (BoardMember("Paul Martin", "medecin_generaliste"), BoardMember("Anne Roy", "infirmier"))
    context = FlagContext(board=board, large_payment_threshold=Decimal("5000.00"))
    _, summary = run("valid_tab.txt", context)
    fees = [f for f in summary["flagged_entries"] if f["line"] == 25]
    assert fees and fees[0]["reasons"] == ["board_member_payment", "large_payment_board_profession"]
    assert "martin" in fees[0]["keywords"] and fees[0]["amount"] == "6000.00"
    assert summary["flagged_count"] == 5


def test_chart_mapping_prefers_labels_then_the_longest_prefix() -> None:
    from cpts_documents.domain.chart import default_chart
    from cpts_documents.domain.text import fold

    chart = default_chart()
    assert chart.classify("7410000", fold("Subvention FIR ARS")).category == "subsidy_ars_fir"  # type: ignore[union-attr]
    assert chart.classify("7410000", fold("Subvention")).category == "subsidy_state"  # type: ignore[union-attr]
    assert chart.classify("7063").category == "private_companies"  # type: ignore[union-attr]
    assert chart.classify("75410").category == "private_donors"  # type: ignore[union-attr]
    assert chart.classify("2135").group == "real_estate"  # type: ignore[union-attr]
    assert chart.classify("6891").category == "dedicated_funds_allocated"  # type: ignore[union-attr]
    for klass in "12345678":
        assert chart.classify(klass + "99999") is not None
    categories = {r.category for r in chart.rules}
    assert {
        "assurance_maladie",
        "subsidy_region",
        "private_companies",
        "membership_fees",
        "services_sold",
    } <= categories
