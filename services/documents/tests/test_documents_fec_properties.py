"""Property-based tests of the FEC validator and the summary (hypothesis).

Generated FECs are valid by construction: balanced entries of two to five lines, one date, one
piece and one journal each, amounts in cents, accounts of classes 1 to 7. They must be accepted
with totals exact to the cent, whichever separator, amount layout and line order of entries.
Then one mutation at a time must raise its own error code: a swapped digit in an amount, a
dropped field, an unbalanced entry, an entry split across the file with another date.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpts_documents.domain.fec import COLUMNS, SENS_COLUMNS, FecValidator, Period
from cpts_documents.domain.summary import AccountsSummariser

YEAR = Period.calendar_year(2024)
ACCOUNTS = [
    ("512000", "Banque"),
    ("401000", "Fournisseurs"),
    ("411000", "Usagers"),
    ("106800", "Réserves"),
    ("218300", "Matériel informatique"),
    ("606400", "Fournitures de bureau"),
    ("613200", "Locations immobilières"),
    ("622600", "Honoraires"),
    ("641000", "Salaires"),
    ("706000", "Prestations de services"),
    ("740000", "Subventions d'exploitation"),
    ("756000", "Cotisations"),
]
WORDS = ["Facture", "Versement", "Loyer", "Achat", "Réunion", "Coordination", "Mission", "Santé", "Prévention"]
PROPERTIES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Line:
    num: int
    day: date
    account: str
    account_label: str
    label: str
    debit: int
    credit: int


def _amount(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


@st.composite
def entries(draw: st.DrawFn) -> list[list[Line]]:
    count = draw(st.integers(min_value=1, max_value=25))
    out = []
    for num in range(1, count + 1):
        day = date(2024, 1, 1) + timedelta(days=draw(st.integers(min_value=0, max_value=365)))
        label = " ".join(draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)))
        amounts = draw(st.lists(st.integers(min_value=1, max_value=10_000_000), min_size=1, max_size=4))
        lines = []
        for cents in amounts:
            account, account_label = draw(st.sampled_from(ACCOUNTS))
            lines.append(Line(num, day, account, account_label, label, cents, 0))
        account, account_label = draw(st.sampled_from(ACCOUNTS))
        lines.append(Line(num, day, account, account_label, label, 0, sum(amounts)))
        out.append(draw(st.permutations(lines)))
    return out


def render(batches: list[list[Line]], *, sep: str = "\t", sens: bool = False) -> list[list[str]]:
    rows = []
    for lines in batches:
        for line in lines:
            day = line.day.strftime("%Y%m%d")
            head = ["BQ", "Banque", str(line.num), day, line.account, line.account_label, "", "", f"P{line.num}", day]
            if sens:
                amounts = [_amount(line.debit or line.credit), "D" if line.debit else "C"]
            else:
                amounts = [_amount(line.debit), _amount(line.credit)]
            rows.append([*head, line.label, *amounts, "", "", "20250115", "", ""])
    return rows


def validate(rows: list[list[str]], *, sep: str = "\t", sens: bool = False) -> tuple[FecValidator, AccountsSummariser]:
    header = sep.join(SENS_COLUMNS if sens else COLUMNS)
    text = header + "\n" + "".join(sep.join(r) + "\n" for r in rows)
    summariser = AccountsSummariser()
    validator = FecValidator(YEAR, sink=summariser)
    validator.run(io.BytesIO(text.encode("utf-8")))
    return validator, summariser


def _cents(value: object) -> int:
    return int(str(value).replace(".", ""))


@PROPERTIES
@given(entries(), st.sampled_from(["\t", "|"]), st.booleans())
def test_valid_fecs_are_accepted_with_exact_totals(batches: list[list[Line]], sep: str, sens: bool) -> None:
    validator, summariser = validate(render(batches, sens=sens), sep=sep, sens=sens)
    report = validator.report
    assert report.verdict.value == "accepted", report.as_dict()
    lines = [line for batch in batches for line in batch]
    assert validator.stats.entries == len(batches)
    assert validator.stats.debit_cents == sum(line.debit for line in lines)
    assert validator.stats.credit_cents == sum(line.credit for line in lines)
    summary = summariser.result()
    revenue = sum(line.credit - line.debit for line in lines if line.account[0] == "7")
    expenses = sum(line.debit - line.credit for line in lines if line.account[0] == "6")
    assert _cents(summary["revenue_total"]) == revenue
    assert _cents(summary["expense_total"]) == expenses
    assert _cents(summary["result"]) == revenue - expenses
    assert sum(_cents(v) for v in summary["revenue_by_category"].values()) == revenue


@PROPERTIES
@given(entries(), st.randoms(use_true_random=False))
def test_entries_placed_anywhere_give_the_same_totals(batches: list[list[Line]], rnd: object) -> None:
    rows = render(batches)
    shuffled = list(rows)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    validator, summariser = validate(shuffled)
    assert validator.report.error_count == 0, validator.report.as_dict()
    assert validator.stats.entries == len(batches)
    _, ordered_summary = validate(rows)
    assert summariser.result()["revenue_total"] == ordered_summary.result()["revenue_total"]


def _codes(rows: list[list[str]]) -> set[str]:
    validator, _ = validate(rows)
    return {e.code for e in validator.report.errors}


@PROPERTIES
@given(entries(), st.data())
def test_a_swapped_digit_in_an_amount_unbalances_its_entry(batches: list[list[Line]], data: st.DataObject) -> None:
    rows = render(batches)
    candidates = [
        (i, column)
        for i, row in enumerate(rows)
        for column in (11, 12)
        if any(a != b and a.isdigit() and b.isdigit() for a, b in zip(row[column], row[column][1:], strict=False))
    ]
    if not candidates:
        return
    i, column = data.draw(st.sampled_from(candidates))
    text = rows[i][column]
    spots = [k for k in range(len(text) - 1) if text[k] != text[k + 1] and text[k].isdigit() and text[k + 1].isdigit()]
    k = data.draw(st.sampled_from(spots))
    rows[i][column] = text[:k] + text[k + 1] + text[k] + text[k + 2 :]
    assert "E_UNBALANCED_ENTRY" in _codes(rows)


@PROPERTIES
@given(entries(), st.data())
def test_a_dropped_field_is_a_field_count_error(batches: list[list[Line]], data: st.DataObject) -> None:
    rows = render(batches)
    i = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    column = data.draw(st.integers(min_value=0, max_value=len(COLUMNS) - 1))
    del rows[i][column]
    validator, _ = validate(rows)
    assert [e.line for e in validator.report.errors if e.code == "E_FIELD_COUNT"] == [i + 2]


@PROPERTIES
@given(entries(), st.data())
def test_an_unbalanced_entry_is_rejected(batches: list[list[Line]], data: st.DataObject) -> None:
    rows = render(batches)
    i = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    column = 11 if rows[i][11] != "0,00" else 12
    cents = int(rows[i][column].replace(",", "")) + data.draw(st.integers(min_value=1, max_value=999))
    rows[i][column] = _amount(cents)
    validator, _ = validate(rows)
    unbalanced = [e for e in validator.report.errors if e.code == "E_UNBALANCED_ENTRY"]
    assert len(unbalanced) == 1
    assert unbalanced[0].line == min(k for k, r in enumerate(rows, start=2) if r[2] == rows[i][2])


@PROPERTIES
@given(entries(), st.data())
def test_an_entry_split_across_the_file_on_another_date_is_rejected(
    batches: list[list[Line]], data: st.DataObject
) -> None:
    rows = render(batches)
    i = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    moved = list(rows.pop(i))
    day = date.fromisoformat(f"{moved[3][:4]}-{moved[3][4:6]}-{moved[3][6:]}")
    other = day + timedelta(days=1) if day.month < 12 or day.day < 31 else day - timedelta(days=1)
    moved[3] = other.strftime("%Y%m%d")
    rows.append(moved)
    assert "E_ENTRY_DATES" in _codes(rows)
