"""The column-by-column pass (``fec_columns``: Arrow's CSV parser and vectorised checks) against
the line-by-line pass.

Both must give the same report (every code, line, column and message), the same file figures and
the same summary (sums, balances, flags and their order) on any file: the hand-checked corpus,
generated FECs, and generated FECs with one mutation that the fast path must hand over to the
line-by-line checks. Small read sizes cut the blocks inside entries, so that an entry carried
from one block to the next is tested both ways. Generated files without a mutation must go
through the column pass (else the comparison would prove nothing).
"""

from __future__ import annotations

import io
import json
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpts_documents.domain import fec, fec_columns
from cpts_documents.domain.fec import COLUMNS, FecValidator, Period
from cpts_documents.domain.summary import AccountsSummariser

CORPUS = Path(__file__).parent / "fec_corpus"
YEAR = Period.calendar_year(2024)
PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ACCOUNTS = [
    ("512000", "Banque"),
    ("401000", "Fournisseurs"),
    ("106800", "Réserves"),
    ("218300", "Matériel informatique"),
    ("213000", "Constructions"),
    ("606400", "Fournitures de bureau"),
    ("625700", "Réceptions"),
    ("641000", "Salaires"),
    ("706000", "Prestations de services"),
    ("741000", "Subventions de l'État"),
    ("744000", "Subventions des communes"),
]
LABELS = ["Facture", "Restaurant du port", "Subvention ARS FIR", "Versement ACI CPAM", "Soirée théâtre", "Achat"]
READ_SIZES = [48, 97, 300, 1 << 16]


def both_ways(data: bytes, period: Period = YEAR, read_size: int = 1 << 16) -> list[str]:
    """The outcome of each pass (report, figures, summary), as comparable text."""
    outcomes = []
    saved = fec.CHUNK
    fec.CHUNK = read_size
    try:
        for by_columns in (True, False):
            summariser = AccountsSummariser(max_flags=3)
            validator = FecValidator(period, sink=summariser, by_columns=by_columns)
            report = validator.run(io.BytesIO(data))
            outcome = [report.as_dict(), validator.stats.as_dict(), summariser.result()]
            outcomes.append(json.dumps(outcome, default=str, sort_keys=True))
    finally:
        fec.CHUNK = saved
    return outcomes


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.name)
@pytest.mark.parametrize("read_size", [97, 1 << 16])
def test_the_corpus_reads_the_same_both_ways(path: Path, read_size: int) -> None:
    by_columns, by_lines = both_ways(path.read_bytes(), read_size=read_size)
    assert by_columns == by_lines


@st.composite
def fec_rows(draw: st.DrawFn) -> list[list[str]]:
    """Balanced entries of two to four lines, numbered in order; some share amounts (the
    flags' order on ties), some are opening entries (purchases are not counted there)."""
    rows = []
    for num in range(1, draw(st.integers(min_value=1, max_value=30)) + 1):
        day = (date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 365)))).strftime("%Y%m%d")
        journal, journal_label = draw(st.sampled_from([("BQ", "Banque"), ("AC", "Achats"), ("AN", "A nouveaux")]))
        label = f"{draw(st.sampled_from(LABELS))} {num}"
        amounts = draw(st.lists(st.sampled_from([100, 5000, 500000, 123456]), min_size=1, max_size=3))
        lines = [(*draw(st.sampled_from(ACCOUNTS)), cents, 0) for cents in amounts]
        lines.append((*draw(st.sampled_from(ACCOUNTS)), 0, sum(amounts)))
        for account, account_label, debit, credit in lines:
            aux, aux_label = ("F01", "Fournisseur Martin") if account.startswith("401") else ("", "")
            head = [journal, journal_label, str(num), day, account, account_label, aux, aux_label, f"P{num}", day]
            amounts = [f"{debit // 100},{debit % 100:02d}", f"{credit // 100},{credit % 100:02d}"]
            rows.append([*head, label, *amounts, "", "", day, "", ""])
    return rows


def _text(rows: list[list[str]], line_end: str = "\n") -> bytes:
    return (line_end.join(["\t".join(COLUMNS), *("\t".join(r) for r in rows)]) + line_end).encode("utf-8")


@PROPERTIES
@given(fec_rows(), st.sampled_from(READ_SIZES))
def test_generated_fecs_read_the_same_both_ways(rows: list[list[str]], read_size: int) -> None:
    by_columns, by_lines = both_ways(_text(rows), read_size=read_size)
    assert by_columns == by_lines


def blocks_by_columns(data: bytes, read_size: int) -> tuple[int, int]:
    """How many blocks the column pass took, and how many went line by line."""
    taken = [0, 0]
    saved = fec.CHUNK
    fec.CHUNK = read_size
    try:
        validator = FecValidator(YEAR, sink=AccountsSummariser())
        column_block = validator._column_block

        def counted(*args: Any) -> bool:
            done = column_block(*args)
            taken[0 if done else 1] += 1
            return done

        validator._column_block = counted
        validator.run(io.BytesIO(data))
    finally:
        fec.CHUNK = saved
    return taken[0], taken[1]


@PROPERTIES
@given(fec_rows(), st.sampled_from([300, 1 << 16]), st.sampled_from(["\n", "\r\n"]))
def test_ordinary_files_go_through_the_column_pass(rows: list[list[str]], read_size: int, line_end: str) -> None:
    """Every block of an ordinary file (LF or CRLF) is taken by Arrow, whatever cuts the blocks."""
    by_columns, by_lines = blocks_by_columns(_text(rows, line_end), read_size)
    assert by_columns > 0
    assert by_lines == 0


@PROPERTIES
@given(fec_rows(), st.sampled_from([300, 1 << 16]))
def test_blocks_read_ahead_keep_their_own_dates(rows: list[list[str]], read_size: int) -> None:
    """The next block is checked in a worker thread while this one is committed; with a date
    bound of 0 the worker starts a new date map at every block, and each block still finds its
    dates (in the map it was checked with), by columns, with the same outcome."""
    text = _text(rows)
    expected = both_ways(text, read_size=read_size)
    saved = fec_columns.DATE_LIMIT
    try:
        fec_columns.DATE_LIMIT = 0
        assert both_ways(text, read_size=read_size) == expected
        assert blocks_by_columns(text, read_size)[1] == 0
    finally:
        fec_columns.DATE_LIMIT = saved


class _FailingSink(AccountsSummariser):
    """A summary that breaks on the second block of entries it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = 0

    def add_lines(self, first_line: int, lines: Any) -> None:
        self.blocks += 1
        if self.blocks == 2:
            raise RuntimeError("the summary broke")
        super().add_lines(first_line, lines)


def test_a_failure_while_a_block_is_read_ahead_stops_the_worker() -> None:
    """The error reaches the caller as it was raised, and the worker thread that was reading
    the next block is gone once the validator returns (none left behind per upload)."""
    rows = []
    for num in range(1, 401):
        day = (date(2024, 1, 1) + timedelta(days=num % 366)).strftime("%Y%m%d")
        piece = (f"P{num}", day, f"Facture {num}")
        rows.append(_row(str(num), day, "606400", "Fournitures de bureau", "", "", *piece, "100,00", "0,00"))
        rows.append(_row(str(num), day, "512000", "Banque", "", "", *piece, "0,00", "100,00"))
    saved = fec.CHUNK
    fec.CHUNK = 4096
    try:
        validator = FecValidator(YEAR, sink=_FailingSink())
        with pytest.raises(RuntimeError, match="the summary broke"):
            validator.run(io.BytesIO(_text(rows)))
    finally:
        fec.CHUNK = saved
    assert not [t for t in threading.enumerate() if t.name.startswith("fec-columns")]


# One change that the column-by-column pass must notice (it then hands the block over).
MUTATIONS: dict[str, Any] = {
    "drop a field": lambda row: row.pop(5),
    "empty a required field": lambda row: row.__setitem__(8, ""),
    "a date with dashes": lambda row: row.__setitem__(3, f"{row[3][:4]}-{row[3][4:6]}-{row[3][6:]}"),
    "a date outside the period": lambda row: row.__setitem__(3, "20230615"),
    "not a date": lambda row: row.__setitem__(9, "2024XX01"),
    "valid before the entry": lambda row: row.__setitem__(15, "20240101" if row[3] > "20240101" else "20231231"),
    "a decimal point": lambda row: row.__setitem__(11, row[11].replace(",", ".")),
    "an empty amount": lambda row: row.__setitem__(12, ""),
    "an amount of three decimals": lambda row: row.__setitem__(11, row[11] + "0"),
    "a zero line": lambda row: (row.__setitem__(11, "0,00"), row.__setitem__(12, "0,00")),
    "debit and credit": lambda row: row.__setitem__(11, "1,00") if row[11] == "0,00" else row.__setitem__(12, "1,00"),
    "an account with a dash": lambda row: row.__setitem__(4, f"{row[4][:3]}-{row[4][3:]}"),
    "an analytical account": lambda row: row.__setitem__(4, "901000"),
    "a result account": lambda row: row.__setitem__(4, "120000"),
    "an in-kind account": lambda row: row.__setitem__(4, "860000"),
    "a lettering": lambda row: (row.__setitem__(13, "AA"), row.__setitem__(14, row[3])),
    "a lettering without its date": lambda row: row.__setitem__(13, "AA"),
    "a lettering date alone": lambda row: row.__setitem__(14, row[3]),
    "a lettering dated badly": lambda row: (row.__setitem__(13, "AA"), row.__setitem__(14, "2024-01-02")),
    "a currency": lambda row: (row.__setitem__(16, "12,00"), row.__setitem__(17, "USD")),
    "an auxiliary number alone": lambda row: row.__setitem__(6, "F99"),
    "a space to trim": lambda row: row.__setitem__(10, row[10] + " "),
    "a non-breaking space": lambda row: row.__setitem__(10, row[10] + "\u00a0x"),
    "another piece": lambda row: row.__setitem__(8, "Z9"),
    "another journal label": lambda row: row.__setitem__(1, "Clôture"),
    "a closing journal": lambda row: (row.__setitem__(0, "CL"), row.__setitem__(1, "Clôture")),
    "a separator in a label": lambda row: row.__setitem__(10, row[10] + "\t50"),
    # What Arrow's parser could read otherwise than the line pass: quotes (quoting is off), a CR
    # alone (Arrow ends a line there), a space before the journal, amounts beyond int64 sums.
    "a quote in a label": lambda row: row.__setitem__(10, f'"{row[10]}"'),
    "a CR in a label": lambda row: row.__setitem__(10, row[10] + "\r50"),
    "a space before the journal": lambda row: row.__setitem__(0, " " + row[0]),
    "a huge amount": lambda row: row.__setitem__(11 if row[11] != "0,00" else 12, "123456789012345,00"),
    "a lettering with spaces": lambda row: (row.__setitem__(13, "A "), row.__setitem__(14, row[3])),
}


@PROPERTIES
@given(fec_rows(), st.data(), st.sampled_from(sorted(MUTATIONS)), st.sampled_from(READ_SIZES))
def test_mutated_fecs_read_the_same_both_ways(
    rows: list[list[str]], data: st.DataObject, mutation: str, read_size: int
) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    MUTATIONS[mutation](rows[i])
    by_columns, by_lines = both_ways(_text(rows), read_size=read_size)
    assert by_columns == by_lines


@PROPERTIES
@given(fec_rows(), st.data(), st.sampled_from(READ_SIZES))
def test_lettered_lines_read_the_same_both_ways(rows: list[list[str]], data: st.DataObject, read_size: int) -> None:
    """Letterings on some lines (the supplier's, the bank's), sometimes two in an entry, or one
    without its date: the column pass takes the ordinary ones, the line pass the others."""
    for row in rows:
        lettering = data.draw(st.sampled_from(["", "", "AA", "AB", "ZZ"]))
        if lettering:
            row[13], row[14] = lettering, data.draw(st.sampled_from([row[3], "20250110", "", "00000000"]))
    by_columns, by_lines = both_ways(_text(rows), read_size=read_size)
    assert by_columns == by_lines


@PROPERTIES
@given(fec_rows(), st.data(), st.sampled_from(READ_SIZES))
def test_moved_lines_and_odd_files_read_the_same_both_ways(
    rows: list[list[str]], data: st.DataObject, read_size: int
) -> None:
    """A line moved elsewhere (an entry apart, a number reused), an empty line, Windows line
    ends, a Latin-1 line."""
    i = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    j = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    rows.insert(j, rows.pop(i))
    text = _text(rows, data.draw(st.sampled_from(["\n", "\r\n"])))
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
        lines = text.split(b"\n")
        text = b"\n".join([*lines[: cut + 1], b"", *lines[cut + 1 :]])
    if data.draw(st.booleans()):
        text = text.replace("théâtre".encode(), "théâtre".encode("latin-1"), 1)
    by_columns, by_lines = both_ways(text, read_size=read_size)
    assert by_columns == by_lines


def _row(num: str, day: str, *middle: str) -> list[str]:
    """A line of journal BQ (``middle``: CompteNum to Credit), no lettering or currency."""
    return ["BQ", "Banque", num, day, *middle, "", "", day, "", ""]


# Digits that str.isdigit() accepts and int() refuses (superscripts), or that int() reads and a
# FEC must not (Arabic-Indic, full-width): reported with their line and column, never raised.
ODD_DIGITS = ["1²,00", "²³,00", "1,0²", "١٢,٠٠", "１２,００", "12²", "1,2E+0²"]


@pytest.mark.parametrize("text", ODD_DIGITS)
@pytest.mark.parametrize("column", [11, 12])
def test_non_ascii_digits_in_an_amount_are_a_format_error(text: str, column: int) -> None:
    rows = [
        _row("1", "20240105", "606400", "Fournitures", "", "", "P1", "20240105", "Achat", "12,00", "0,00"),
        _row("1", "20240105", "512000", "Banque", "", "", "P1", "20240105", "Achat", "0,00", "12,00"),
    ]
    rows[0][column] = text
    by_columns, by_lines = both_ways(_text(rows))
    assert by_columns == by_lines
    issues = json.loads(by_lines)[0]["errors"]
    name = COLUMNS[column]
    assert {"line": 2, "column": name, "code": "E_AMOUNT_FORMAT"} in [
        {k: issue[k] for k in ("line", "column", "code")} for issue in issues
    ]


@pytest.mark.parametrize("text", ["2024010²", "２０２４０１０５", "2024-01-0²"])
def test_non_ascii_digits_in_a_date_are_a_format_error(text: str) -> None:
    rows = [
        _row("1", "20240105", "606400", "Fournitures", "", "", "P1", text, "Achat", "12,00", "0,00"),
        _row("1", "20240105", "512000", "Banque", "", "", "P1", text, "Achat", "0,00", "12,00"),
    ]
    by_columns, by_lines = both_ways(_text(rows))
    assert by_columns == by_lines
    codes = [(i["line"], i["column"], i["code"]) for i in json.loads(by_lines)[0]["errors"]]
    assert (2, "PieceDate", "E_DATE_FORMAT") in codes


@pytest.mark.parametrize("num", ["1²", "²", "١"])
def test_non_ascii_digits_in_an_entry_number_do_not_raise(num: str) -> None:
    rows = [
        _row(num, "20240105", "606400", "Fournitures", "", "", "P1", "20240105", "Achat", "12,00", "0,00"),
        _row(num, "20240105", "512000", "Banque", "", "", "P1", "20240105", "Achat", "0,00", "12,00"),
        _row("2", "20240105", "606400", "Fournitures", "", "", "P2", "20240105", "Achat", "1,00", "0,00"),
        _row("2", "20240105", "512000", "Banque", "", "", "P2", "20240105", "Achat", "0,00", "1,00"),
    ]
    by_columns, by_lines = both_ways(_text(rows))
    assert by_columns == by_lines
    assert json.loads(by_lines)[0]["verdict"] != "rejected"


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.txt")), ids=lambda p: p.name)
@pytest.mark.parametrize(("seen_bits", "candidate_limit"), [(8, fec.CANDIDATE_LIMIT), (fec.SEEN_BITS, 0), (8, 0)])
def test_the_entry_grouping_does_not_depend_on_its_filter(
    path: Path, seen_bits: int, candidate_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bit filter only picks which runs are grouped: a filter where every number collides
    (all false positives), or too many candidates to hold (every run grouped), same outcome."""
    data = path.read_bytes()
    expected = both_ways(data)
    monkeypatch.setattr(fec, "SEEN_BITS", seen_bits)
    monkeypatch.setattr(fec, "CANDIDATE_LIMIT", candidate_limit)
    assert both_ways(data) == expected


@PROPERTIES
@given(fec_rows(), st.data())
def test_moved_lines_group_the_same_whatever_the_filter(rows: list[list[str]], data: st.DataObject) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    j = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    rows.insert(j, rows.pop(i))
    text = _text(rows)
    expected = both_ways(text)
    saved = fec.SEEN_BITS, fec.CANDIDATE_LIMIT
    try:
        fec.SEEN_BITS, fec.CANDIDATE_LIMIT = 8, 0
        assert both_ways(text) == expected
    finally:
        fec.SEEN_BITS, fec.CANDIDATE_LIMIT = saved


@PROPERTIES
@given(fec_rows(), st.data(), st.sampled_from(READ_SIZES))
def test_validation_dates_before_the_entries_read_the_same_both_ways(
    rows: list[list[str]], data: st.DataObject, read_size: int
) -> None:
    """A ValidDate before its EcritureDate on many lines (a tolerated quirk, one warning with its
    first line and count): the column pass reports it as the line pass does."""
    for row in rows:
        if data.draw(st.booleans()):
            row[15] = data.draw(st.sampled_from(["19500101", "20231231", "20240101"]))
    by_columns, by_lines = both_ways(_text(rows), read_size=read_size)
    assert by_columns == by_lines


@PROPERTIES
@given(fec_rows(), st.data(), st.sampled_from(READ_SIZES))
def test_empty_amounts_read_the_same_both_ways(rows: list[list[str]], data: st.DataObject, read_size: int) -> None:
    """The zero side left empty on many lines (read as 0, one W_EMPTY_AMOUNT for the file),
    sometimes with a ValidDate before the entry on the same line, sometimes both sides empty."""
    for row in rows:
        change = data.draw(st.sampled_from(["", "zero side", "zero side", "valid", "both"]))
        if change in ("zero side", "valid"):
            row[11 if row[11] == "0,00" else 12] = ""
        if change == "valid":
            row[15] = "20231231"
        if change == "both":
            row[11] = row[12] = ""
    by_columns, by_lines = both_ways(_text(rows), read_size=read_size)
    assert by_columns == by_lines


NUMBERINGS: dict[str, Any] = {
    "zero-padded": lambda num, journal: f"{num:06d}",
    "prefixed by journal": lambda num, journal: f"{journal}{num:05d}",
    "per journal": lambda num, journal: str(num // 2 + 1),
    "going back": lambda num, journal: str(100 - num),
    "with gaps": lambda num, journal: str(num * 3),
    "reused": lambda num, journal: str(num % 4 + 1),
}


@PROPERTIES
@given(fec_rows(), st.sampled_from(sorted(NUMBERINGS)), st.sampled_from(READ_SIZES))
def test_numberings_read_the_same_both_ways(rows: list[list[str]], numbering: str, read_size: int) -> None:
    """Entry numbers other than 1, 2, 3...: the column pass numbers runs one by one (gaps,
    disorder), and the entry grouping goes through its filter instead of the sequence."""
    for row in rows:
        row[2] = NUMBERINGS[numbering](int(row[2]), row[0])
    text = _text(rows)
    by_columns, by_lines = both_ways(text, read_size=read_size)
    assert by_columns == by_lines
    saved = fec.SEEN_BITS, fec.CANDIDATE_LIMIT
    try:
        fec.SEEN_BITS, fec.CANDIDATE_LIMIT = 8, 0
        assert both_ways(text, read_size=read_size) == [by_columns, by_lines]
    finally:
        fec.SEEN_BITS, fec.CANDIDATE_LIMIT = saved


@pytest.mark.parametrize("read_size", [97, 1 << 16])
def test_a_cr_alone_in_a_crlf_file_reads_the_same_both_ways(read_size: int) -> None:
    """Arrow would end a line at a CR alone; the line pass reads it as text in a CRLF file."""
    rows = [
        _row("1", "20240105", "606400", "Fournitures", "", "", "P1", "20240105", "Achat\r1", "12,00", "0,00"),
        _row("1", "20240105", "512000", "Banque", "", "", "P1", "20240105", "Achat", "0,00", "12,00"),
    ]
    by_columns, by_lines = both_ways(_text(rows, "\r\n"), read_size=read_size)
    assert by_columns == by_lines
