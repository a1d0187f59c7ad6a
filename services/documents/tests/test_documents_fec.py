"""FEC parsing and validation on the hand-checked corpus, and the accounting summary."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cpts_documents.domain.fec import COLUMNS, FecValidator, FileIdentity, Period, parse_cents, validate_fec
from cpts_documents.domain.flags import BoardMember, FlagContext
from cpts_documents.domain.summary import AccountsSummariser, period_months, summariser_for
from cpts_documents.events.payloads import AccountsSummary

CORPUS = Path(__file__).parent / "fec_corpus"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
YEAR_2024 = Period.calendar_year(2024)


def period_of(expected: dict[str, Any]) -> Period:
    if "period" in expected:
        start, end = expected["period"]
        return Period(date.fromisoformat(start), date.fromisoformat(end))
    return YEAR_2024


def run(
    name: str, context: FlagContext | None = None, period: Period = YEAR_2024, identity: FileIdentity | None = None
) -> tuple[Any, dict[str, Any]]:
    summariser = summariser_for(period.start, period.end, context)
    with (CORPUS / name).open("rb") as handle:
        report = validate_fec(handle, period, sink=summariser, identity=identity)
    return report, AccountsSummary.model_validate(summariser.result()).model_dump(mode="json")


def test_every_corpus_file_has_an_expectation() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.txt")) == sorted(EXPECTED["files"])


INCOME = ("revenue_total", "expense_total", "result", "revenue_by_category", "revenue_by_group", "expense_by_category")
REFERENCE = (*INCOME, "balance_sheet", "reserves", "fixed_asset_purchases")


@pytest.mark.parametrize("name", sorted(EXPECTED["files"]))
def test_corpus_verdicts_errors_and_warnings(name: str) -> None:
    expected = EXPECTED["files"][name]
    board = tuple(BoardMember(n, p) for n, p in expected.get("board", []))
    report, summary = run(name, FlagContext(board=board), period_of(expected))
    assert report.verdict.value == expected["verdict"], report.as_dict()
    if "errors_include" in expected:
        assert set(expected["errors_include"]) <= {e.code for e in report.errors}
        return
    assert [[e.code, e.line, e.column] for e in report.errors] == expected["errors"]
    assert sorted({w.code for w in report.warnings}) == expected["warnings"]
    for issue in report.errors + report.warnings:
        assert issue.message
    reference = EXPECTED["reference_summary"]
    if expected.get("summary") in ("reference", "reference_income"):
        for key in REFERENCE if expected["summary"] == "reference" else INCOME:
            assert summary[key] == reference[key], key
    if expected.get("summary") == "reference":
        assert [[f["line"], f["account"], f["reason"]] for f in summary["flagged_entries"]] == reference["flagged"]
    for key, value in expected.get("summary_checks", {}).items():
        assert summary[key] == value, key
    if "flagged" in expected:
        assert [[f["line"], f["account"], f["reason"]] for f in summary["flagged_entries"]] == expected["flagged"]


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


def test_entries_are_grouped_over_the_whole_file_wherever_their_lines_are() -> None:
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
    validator = FecValidator(YEAR_2024)
    report = validator.run(io.BytesIO(_fec(rows)))
    assert report.verdict.value == "accepted_with_warnings", report.as_dict()
    assert {w.code for w in report.warnings} == {"W_NON_CONTIGUOUS_ENTRY"}
    assert validator.stats.entries == 2000
    # The same lines, the second half of each entry placed at the end, one of them off by a cent.
    rows = [_line(str(n), "512000", "10,00", "0,00") for n in range(1, 50)]
    rows += [_line(str(n), "706000", "0,00", "10,00" if n != 30 else "10,01") for n in range(1, 50)]
    report = FecValidator(YEAR_2024).run(io.BytesIO(_fec(rows)))
    assert [(e.code, e.line) for e in report.errors] == [("E_UNBALANCED_ENTRY", 31)]


def test_placed_together_or_apart_the_verdict_is_the_same() -> None:
    together = [_line("1", "512000", "10,00", "0,00"), _line("1", "706000", "0,00", "10,00")]
    together += [_line("2", "512000", "5,00", "0,00"), _line("2", "706000", "0,00", "5,00")]
    reused = [*together, _line("1", "512000", "7,00", "0,00"), _line("1", "706000", "0,00", "7,00")]
    reused[-2][3] = reused[-1][3] = "20240401"  # the number reused on another date
    adjacent = [*together[:2], *reused[-2:], *together[2:]]
    for rows in (reused, adjacent):
        report = FecValidator(YEAR_2024).run(io.BytesIO(_fec(rows)))
        assert "E_ENTRY_DATES" in {e.code for e in report.errors}, report.as_dict()


@pytest.mark.parametrize(
    ("filename", "errors", "warnings"),
    [
        ("732829320FEC20241231.txt", [], []),
        ("732829320fec20241231.TXT", [], []),
        ("552100554FEC20241231.txt", ["E_FILE_NAME_SIREN"], []),
        ("732829320FEC20231231.txt", ["E_FILE_NAME_DATE"], []),
        ("FEC_2024.txt", [], ["W_FILE_NAME"]),
        (None, [], ["W_FILE_NAME"]),
        ("732829321FEC20241231.txt", [], ["W_FILE_NAME"]),
    ],
)
def test_the_file_name_names_the_cpts_and_the_closing_date(
    filename: str | None, errors: list[str], warnings: list[str]
) -> None:
    report, _ = run("valid_tab.txt", identity=FileIdentity(filename, "732829320"))
    assert [e.code for e in report.errors] == errors
    assert [w.code for w in report.warnings] == warnings


def test_flags_keep_complete_counts_and_the_largest_entries_first() -> None:
    rows = []
    for n in range(1, 121):
        rows += [_line(str(n), "625700", f"{n},00", "0,00", "Repas"), _line(str(n), "512000", "0,00", f"{n},00")]
    summariser = AccountsSummariser(max_flags=5)
    report = validate_fec(io.BytesIO(_fec(rows)), YEAR_2024, sink=summariser)
    assert report.verdict.value == "accepted"
    summary = summariser.result()
    assert summary["flagged_count"] == 120 and summary["flagged_listed"] == 5
    assert summary["flags_by_reason"] == {"reception_or_gift": 120}
    assert summary["flag_amounts_by_reason"] == {"reception_or_gift": Decimal("7260.00")}
    assert [f["amount"] for f in summary["flagged_entries"]] == [Decimal(n) for n in (120, 119, 118, 117, 116)]


def test_months_of_expenses_use_the_period_length() -> None:
    assert period_months(date(2024, 1, 1), date(2024, 12, 31)) == 12
    assert period_months(date(2023, 7, 1), date(2024, 12, 31)) == 18
    assert period_months(date(2024, 3, 15), date(2024, 12, 31)) == Decimal("9.59")


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


def test_labels_fold_abbreviations_plurals_and_places() -> None:
    from cpts_documents.domain.flags import BoardMatcher, default_rules
    from cpts_documents.domain.text import KeywordSet, fold

    assert fold("Versement C.P.A.M. / A.R.S") == "versement cpam ars"
    assert fold("Théâ. du Centre") == "thea du centre"
    keywords = KeywordSet(["concert", "traiteur", "cadeau", "roche", "-roche sur yon", r"re:cd ?\d\d\d?"])
    assert keywords.found(fold("Concerts et traiteurs, cadeaux")) == ["cadeau", "concert", "traiteur"]
    assert keywords.found(fold("Subvention La Roche-sur-Yon")) == []
    assert keywords.found(fold("Roche SAS")) == ["roche"]
    assert keywords.found(fold("Subvention CD 35")) == ["cd 35"]
    board = BoardMatcher(FlagContext(board=(BoardMember("Paul Martin", "medecin_generaliste"),)), default_rules())
    assert board.members(fold("Honoraires Dr Martin")) == ["martin"]
    assert board.members(fold("Loyer maison de santé de Saint-Martin")) == []
    assert board.members(fold("Local rue Martin")) == []


def test_the_account_decides_when_it_names_the_funder() -> None:
    from cpts_documents.domain.chart import chart_2025, default_chart
    from cpts_documents.domain.text import fold

    chart = default_chart()
    town = fold("Subvention La Roche-sur-Yon Agglomération Laboratoire")
    assert chart.classify("744000", town).category == "subsidy_municipal"  # type: ignore[union-attr]
    assert chart.classify("740000", fold("Laboratoires Roche")).category == "pharma_industry"  # type: ignore[union-attr]
    assert chart.classify("706000", fold("ACI CPAM")).category == "assurance_maladie"  # type: ignore[union-attr]
    assert chart.classify("745000", fold("MSA")).category == "assurance_maladie"  # type: ignore[union-attr]
    assert chart.classify("747000", fold("Etat")).category == "subsidy_state"  # type: ignore[union-attr]
    revised = chart_2025()
    assert revised.classify("747000", fold("Etat")).category == "investment_subsidies_released"  # type: ignore[union-attr]
    assert revised.classify("742000", fold("Région")).category == "subsidy_region"  # type: ignore[union-attr]
    assert revised.classify("741000", fold("Subvention")).category == "subsidy_other_public"  # type: ignore[union-attr]


def test_amounts_and_dates_the_dgfip_tester_reads() -> None:
    from cpts_documents.domain.fec import parse_amount, parse_date

    assert parse_amount("1,2E+05") == (12_000_000, "W_AMOUNT_EXPONENT")
    assert parse_amount("1.25e1") == (1250, "W_AMOUNT_EXPONENT")
    assert parse_amount("1.5e-2") == (None, None)  # 0.015: not exact to the cent, never rounded
    assert parse_amount("1e-3") == (None, None)
    assert parse_amount("12,3400") == (1234, "W_AMOUNT_PRECISION")
    assert parse_amount("12,345") == (None, None)
    assert parse_date("20240331") == (date(2024, 3, 31), None, True)
    for text in ("2024-03-31", "31/03/2024", "31.03.2024", "31032024", "2024-03-31T00:00:00", "31/03/2024 12:30"):
        assert parse_date(text) == (date(2024, 3, 31), "W_DATE_LAYOUT", True), text
    assert parse_date("20240231") == (None, None, True)
    assert parse_date("31-2024") == (None, None, False)


def test_one_piece_date_and_one_lettering_per_entry() -> None:
    rows = [
        _line("1", "512000", "10,00", "0,00"),
        _line("1", "411000", "0,00", "6,00"),
        _line("1", "411000", "0,00", "4,00"),
    ]
    rows[1][13:15] = ["AA", "20240310"]
    rows[2][13:15] = ["AB", "20240310"]
    rows[2][9] = "20240302"
    report = FecValidator(YEAR_2024).run(io.BytesIO(_fec(rows)))
    assert report.error_count == 0
    assert {(w.code, w.line) for w in report.warnings} == {("W_ENTRY_LETTERINGS", 4), ("W_ENTRY_PIECE_DATES", 4)}
