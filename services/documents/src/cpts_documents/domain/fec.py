"""Streaming parser and validator of the fichier des écritures comptables (FEC).

The rules are those of art. A.47 A-1 LPF as the DGFiP's own tester (Test-Compta-Demat) applies
them, plus the doctrine's content rules; each has a stable code (see the service README):

- header: the 18 columns by name (case-insensitive), Debit/Credit or the Montant/Sens variant
  (a Debit/Credit file may also carry a Montant column: ignored, with a warning); TAB or pipe
  separator (comma and semicolon are refused since 2013);
- every line has exactly the header's number of fields (a separator inside a text field shifts
  the columns: an error, never read as a trailing separator); mandatory fields are filled;
  dates are real dates and EcritureDate lies inside the fiscal period; amounts are exact to the
  cent; Sens is D, C, +1 or -1; CompteNum starts with three digits;
- entries are grouped by JournalCode + EcritureNum over the whole file, wherever their lines
  are: an entry on two dates, or unbalanced once all its lines are summed, is an error; a number
  reused in another journal is a warning;
- the file name ``SIRENFECAAAAMMJJ`` names the CPTS (its SIREN) and the closing date (the period's
  end); closing entries (class 6/7 balances moved into 120/129) are reported.

What the DGFiP's tester accepts is accepted, with a warning: a UTF-8 byte order mark, CRLF or CR
line ends, a trailing separator on the header and lines alike, Latin-1/Windows-1252 text,
a decimal point, more than two decimals or exponent notation when the amount is exact to the
cent, empty amounts read as zero, dates written ``2024-03-31`` or ``31/03/2024`` (with or
without a time), account numbers written ``401-000`` or ``401.000``, class 9 (analytical)
accounts (left out of the summary).

Memory stays bounded whatever the file: lines are read in chunks and forgotten; the lines of the
entry being read are summed, and each run of contiguous lines of an entry is written, as one
row, to a temporary file on disk. Numbers in sequence (1, 2, 3...) are remembered as one range
of values, any other in a fixed-size bit filter; they pick the candidates: a run unbalanced by
itself, or whose number may have been seen before. At the end
only the candidates' runs go into a temporary SQLite file, where grouped queries find the
entries that are unbalanced, dated twice, split or numbered in two journals (all the runs, if
the candidates are too many to hold). Caches (dates, amounts, accounts, labels) are cleared when
they reach their bound.

Speed: the file is read in blocks of 1 MiB. A block of ordinary lines (plain UTF-8, dates
AAAAMMJJ, amounts ``1234,56``, no quirk at all) is parsed by Arrow and checked column by column
(:mod:`cpts_documents.domain.fec_columns`), its whole entries summed and handed to the summary
at once; any other block goes through the line-by-line checks, which report every issue with
its line and column. Both carry the entry being read in one cursor, so a block may end inside
an entry.
"""

from __future__ import annotations

import pickle
import re
import sqlite3
import tempfile
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from itertools import chain, compress, repeat
from operator import add, and_, eq, itemgetter, lshift, ne, rshift, sub
from pathlib import Path
from typing import IO, Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from cpts_documents.domain.fec_columns import ColumnBlock, ColumnReader, EntryLines, consecutive_from
from cpts_documents.domain.report import Report
from cpts_documents.domain.text import fold
from cpts_kit.identifiers import luhn_valid

# 1 MiB: a block of lines parsed at once by Arrow. Larger blocks cost less per line (fewer calls,
# more repeated labels per block) but more memory (1,000,000 lines, peak RSS with the interpreter
# and pyarrow's 45 MB of libraries: about 100 MB at 1 MiB, 150-180 MB at 4 MiB).
CHUNK = 1 << 20
CACHE_LIMIT = 20_000  # entries per cache (dates, amounts, accounts) before it is cleared
SPILL_ROWS = 20_000  # entry runs kept in memory before they are written to the spill file
SEEN_BITS = 1 << 26  # the entry numbers' bit filter (8 MB): 2 % false positives at 1.3 M entries
CANDIDATE_LIMIT = 100_000  # entry numbers held to pick the runs to group (more: all are grouped)

COLUMNS = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "EcritureDate",
    "CompteNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "PieceDate",
    "EcritureLib",
    "Debit",
    "Credit",
    "EcritureLet",
    "DateLet",
    "ValidDate",
    "Montantdevise",
    "Idevise",
)
SENS_COLUMNS = tuple("Montant" if c == "Debit" else "Sens" if c == "Credit" else c for c in COLUMNS)
# Filled on every line (DGFiP's NOT NULL fields and its "données obligatoires absentes" check).
REQUIRED_TEXT = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "CompteNum",
    "CompteLib",
    "PieceRef",
    "EcritureLib",
)
REQUIRED_DATES = ("EcritureDate", "PieceDate", "ValidDate")
SENS_CODES = {"D": True, "+1": True, "C": False, "-1": False}
# Journals that carry the opening balances (à-nouveaux), by code or by a word of their label.
OPENING_JOURNALS = frozenset({"AN", "RAN", "ANO", "ANX", "OUV", "REPRISE"})
OPENING_WORDS = ("nouveau", "nouveaux", "ouverture", "reprise des soldes")
CLOSING_JOURNALS = frozenset({"CL", "CLO", "CLOT", "CLOTURE"})
CLOSING_WORDS = ("cloture",)

MAX_TOTAL_CENTS = 99_999_999_999_999  # Numeric(14, 2): what Money holds
_AMOUNT = re.compile(r"^([+-]?)(\d+)(?:([,.])(\d*))?([+-]?)$", re.ASCII)
_EXPONENT = re.compile(r"^[+-]?\d+(?:[,.]\d*)?[eE][+-]?\d+$", re.ASCII)
_ACCOUNT = re.compile(r"^\d{3}[0-9A-Za-z]*$", re.ASCII)
_ACCOUNT_SEPARATORS = re.compile(r"[-. /_]")
_TRAILING_NUMBER = re.compile(r"(\d+)$", re.ASCII)
_FILE_NAME = re.compile(r"^(\d{9})FEC(\d{8})(?:\.[A-Za-z0-9]{1,4})*$", re.IGNORECASE | re.ASCII)
_DATE_SEPARATED = re.compile(r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})$", re.ASCII)
_TIME = re.compile(r"^\d{1,2}(?::\d{2}){1,2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?$", re.ASCII)

# Quirk codes of amounts and dates that the DGFiP's tester accepts.
DECIMAL_POINT = "W_DECIMAL_POINT"
AMOUNT_PRECISION = "W_AMOUNT_PRECISION"
AMOUNT_EXPONENT = "W_AMOUNT_EXPONENT"
DATE_LAYOUT = "W_DATE_LAYOUT"


class LineSink(Protocol):
    """Receives each line that passed the checks it depends on (the summary, for instance)."""

    def add(
        self,
        line: int,
        account: str,
        account_label: str,
        aux_label: str,
        label: str,
        debit: int,
        credit: int,
        opening: bool,
    ) -> None: ...

    def end_entry(self, line: int, closing: bool) -> None:
        """The lines added since the last call are a run of one entry starting at ``line``;
        ``closing``: it moves class 6/7 balances into 120/129 (a closing entry)."""

    def add_lines(self, first_line: int, lines: EntryLines) -> None:
        """Whole entries at once (an ordinary block's, as Arrow columns), none of them a closing
        entry, as ``add`` then ``end_entry`` would take them, from line ``first_line``."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @classmethod
    def calendar_year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31))


@dataclass(frozen=True)
class FileIdentity:
    """What the file name should say: the CPTS's SIREN (when the registry gave it)."""

    filename: str | None = None
    siren: str | None = None


@dataclass
class FecStats:
    lines: int = 0
    entries: int = 0
    debit_cents: int = 0
    credit_cents: int = 0
    separator: str | None = None
    amount_layout: str | None = None
    encoding: str = "utf-8"
    line_ending: str = "lf"
    first_date: date | None = None
    last_date: date | None = None
    closing_entries: int = 0
    in_kind_uses_cents: int = 0
    in_kind_contributions_cents: int = 0
    file_name_siren: str | None = None
    file_name_date: date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "entries": self.entries,
            "debit_total": _money(self.debit_cents),
            "credit_total": _money(self.credit_cents),
            "separator": self.separator,
            "amount_layout": self.amount_layout,
            "encoding": self.encoding,
            "line_ending": self.line_ending,
            "first_date": self.first_date.isoformat() if self.first_date else None,
            "last_date": self.last_date.isoformat() if self.last_date else None,
            "closing_entries": self.closing_entries,
            "file_name_siren": self.file_name_siren,
            "file_name_date": self.file_name_date.isoformat() if self.file_name_date else None,
        }


def _day(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat() if ordinal > 0 else "no valid date"


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def parse_amount(text: str) -> tuple[int | None, str | None]:
    """An FEC amount in cents, and the tolerated quirk it shows (a decimal point, more than two
    decimals, exponent notation), or ``None``. The amount is ``None`` if malformed or not exact
    to the cent: money is never rounded."""
    whole, comma, frac = text.partition(",")
    if comma and len(frac) == 2 and text.isascii() and whole.isdigit() and frac.isdigit():
        return int(whole) * 100 + int(frac), None  # the common case: "1234,56"
    match = _AMOUNT.match(text)
    if match is None:
        if _EXPONENT.match(text):
            try:
                value = Decimal(text.replace(",", ".")) * 100
            except InvalidOperation:
                return None, None
            if value != value.to_integral_value() or abs(value) > MAX_TOTAL_CENTS:
                return None, None
            return int(value), AMOUNT_EXPONENT
        return None, None
    lead, digits, sep, decimals, trail = match.groups()
    if lead and trail:
        return None, None
    decimals = decimals or ""
    quirk = DECIMAL_POINT if sep == "." else None
    if len(decimals) > 2:
        if decimals[2:].strip("0"):
            return None, None
        decimals = decimals[:2]
        quirk = quirk or AMOUNT_PRECISION
    cents = int(digits) * 100 + int(decimals.ljust(2, "0"))
    if "-" in (lead, trail):
        cents = -cents
    return cents, quirk


def parse_cents(text: str) -> tuple[int | None, bool]:
    """An amount in cents, and whether it used a decimal point (``None`` if malformed or more
    precise than a cent)."""
    cents, quirk = parse_amount(text)
    return cents, quirk == DECIMAL_POINT


def parse_date(text: str) -> tuple[date | None, str | None, bool]:
    """A FEC date: ``(date, quirk, well_formed)``. AAAAMMJJ is the format; the DGFiP's tester also
    reads separators (``2024-03-31``, ``31/03/2024``), the JJMMAAAA order and a time part, which
    are tolerated (quirk ``W_DATE_LAYOUT``). ``well_formed`` is False when the text is not a
    date layout at all (E_DATE_FORMAT), True with a ``None`` date when it is no calendar date."""
    quirk = None
    core = text
    if len(text) != 8:
        for cut in ("T", " "):
            if cut in core:
                core, _, clock = core.partition(cut)
                if not _TIME.match(clock.strip()):
                    return None, None, False
                quirk = DATE_LAYOUT
                break
    if len(core) == 8 and core.isascii() and core.isdigit():
        year, month, day = int(core[:4]), int(core[4:6]), int(core[6:])
        if not 1900 <= year <= 2099:  # JJMMAAAA
            day, month, year = int(core[:2]), int(core[2:4]), int(core[4:])
            quirk = DATE_LAYOUT
    else:
        match = _DATE_SEPARATED.match(core)
        if match is None:
            return None, None, False
        first, second, third = match.groups()
        if len(first) == 4:
            year, month, day = int(first), int(second), int(third)
        elif len(third) == 4:
            day, month, year = int(first), int(second), int(third)
        else:
            return None, None, False
        quirk = DATE_LAYOUT
    try:
        return date(year, month, day), quirk, True
    except ValueError:
        return None, quirk, True


class LineReader:
    """Lines of a binary stream without their end (LF, CRLF or CR), read in chunks.
    ``cr_only`` tells whether lines end with CR alone (old Mac files)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.first = stream.read(CHUNK)
        self.cr_only = b"\n" not in self.first and b"\r" in self.first

    @property
    def separator(self) -> bytes:
        return b"\r" if self.cr_only else b"\n"

    def blocks(self) -> Iterator[bytes]:
        """The lines of each chunk read, still joined by their separator (a chunk's last,
        unfinished line waits for the next chunk): ``block.split(separator)`` are the lines."""
        sep = self.separator
        carry = b""
        chunk = self.first
        while chunk:
            cut = chunk.rfind(sep)
            if cut < 0:
                carry += chunk
            else:
                yield b"".join((carry, memoryview(chunk)[:cut]))  # one copy of the chunk
                carry = chunk[cut + 1 :]
            chunk = self.stream.read(CHUNK)
        if carry:
            yield carry

    def __iter__(self) -> Iterator[bytes]:
        sep = self.separator
        for block in self.blocks():
            yield from block.split(sep)


def split_lines(stream: IO[bytes]) -> Iterator[bytes]:
    return iter(LineReader(stream))


class _Runs:
    """Every run of contiguous lines of an entry, one row each, spilled to a temporary file: the
    whole-file grouping by entry without holding the file's entries in memory. Only the runs
    that may need the grouping (see ``add``) go into SQLite at the end."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="fec-entries-")
        self._spill = (Path(self._folder.name) / "runs.bin").open("w+b")
        self._batches = 0
        self.db = sqlite3.connect(Path(self._folder.name) / "runs.db", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-4096")
        self.db.execute("PRAGMA temp_store=FILE")
        self.db.execute(
            "CREATE TABLE runs (journal TEXT, num TEXT, day INTEGER, debit INTEGER, credit INTEGER,"
            " line INTEGER, backwards INTEGER)"
        )
        self.pending: list[tuple[str, str, int, int, int, int, int]] = []
        self.count = 0
        # The numbers that may need the whole-file grouping: a run unbalanced by itself, or a
        # number perhaps seen before (a fixed-size bit filter: a false positive only costs a
        # look). A number seen once, on a balanced run, is a balanced entry of one journal.
        self.seen = bytearray()  # allocated when a first number goes into it
        # Numbers in sequence (ASCII digits, each the previous plus one: the usual file) are held
        # as one range of values instead of in the filter; a number whose value is in it counts as
        # seen (a superset of "the same text seen": 5 and 005 have one value).
        self.sequence: tuple[int, int] | None = None
        self.candidates: set[str] | None = set()  # None: too many to hold, every run is grouped
        self.backwards = 0  # runs whose number went backwards in their journal

    def add(self, row: tuple[str, str, int, int, int, int, int]) -> None:
        self.pending.append(row)
        self._note(row[1], row[3] == row[4])
        if row[6]:
            self.backwards += 1
        if len(self.pending) >= SPILL_ROWS:
            self.flush()

    def _note(self, num: str, balanced: bool) -> None:
        """A candidate if the run is unbalanced or its number may have been seen before; else
        its number is remembered: in the sequence if it goes on from it, else in the filter."""
        value = int(num) if len(num) <= 18 and num.isascii() and num.isdigit() else None
        sequence = self.sequence
        bit = hash(num) & (SEEN_BITS - 1)
        byte, mask = bit >> 3, 1 << (bit & 7)
        seen = self.seen
        if (
            (seen and seen[byte] & mask)
            or not balanced
            or (value is not None and sequence is not None and sequence[0] <= value <= sequence[1])
        ):
            self._candidate(num)
        elif value is not None and (sequence is None or value == sequence[1] + 1):
            self.sequence = (value if sequence is None else sequence[0], value)
        else:
            if not seen:
                seen = self.seen = bytearray(SEEN_BITS >> 3)
            seen[byte] |= mask

    def _candidate(self, num: str) -> None:
        candidates = self.candidates
        if candidates is not None:
            candidates.add(num)
            if len(candidates) > CANDIDATE_LIMIT:
                self.candidates = None

    def add_columns(
        self,
        journals: list[str],
        nums: list[str],
        days: list[int],
        debits: list[int],
        credits: list[int],
        lines: list[int],
        backwards: list[int],
        sequence_start: int | None,
    ) -> None:
        """Runs given as columns (an ordinary block's): the same as ``add`` on each row, spilled
        as one batch of columns; ``sequence_start``: the first number's value if each number is
        the previous one plus one (see ``consecutive_from``)."""
        self.flush()
        sequence = self.sequence
        if (
            sequence_start is not None
            and (sequence is None or sequence_start == sequence[1] + 1)
            and not self._any_seen(nums)
        ):
            # The usual file: numbers in sequence, none seen before (the sequence holds the
            # values already noted, the filter the other numbers).
            for num in compress(nums, map(ne, debits, credits)):
                self._candidate(num)
            low = sequence_start if sequence is None else sequence[0]
            self.sequence = (low, sequence_start + len(nums) - 1)
        else:
            for num, balanced in zip(nums, map(eq, debits, credits), strict=True):
                self._note(num, balanced)
        self.backwards += sum(backwards)
        pickle.dump((journals, nums, days, debits, credits, lines, backwards), self._spill, pickle.HIGHEST_PROTOCOL)
        self._batches += 1
        self.count += len(nums)

    def _any_seen(self, nums: list[str]) -> bool:
        """Whether the filter holds one of these numbers (or a false positive): in C loops."""
        if not self.seen:
            return False
        bits = list(map((SEEN_BITS - 1).__and__, map(hash, nums)))
        bytes_at = map(self.seen.__getitem__, map(rshift, bits, repeat(3)))
        return any(map(and_, bytes_at, map(lshift, repeat(1), map(and_, bits, repeat(7)))))

    def flush(self) -> None:
        if self.pending:
            pickle.dump(self.pending, self._spill, protocol=pickle.HIGHEST_PROTOCOL)
            self._batches += 1
            self.count += len(self.pending)
            self.pending = []

    def load(self) -> bool:
        """Into SQLite, indexed by entry: the runs of the candidate numbers and those that went
        backwards (every run when the candidates were too many). ``False`` if there are none."""
        self.flush()
        candidates = self.candidates
        if candidates is not None and not candidates and not self.backwards:
            return False
        self._spill.seek(0)
        self.db.execute("BEGIN")
        for _ in range(self._batches):
            rows = pickle.load(self._spill)  # noqa: S301 - this object's own spill file
            if isinstance(rows, tuple):  # a batch of columns (``add_columns``)
                rows = list(zip(*rows, strict=True))
            if candidates is not None:
                rows = [row for row in rows if row[1] in candidates or row[6]]
            self.db.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        self.db.execute("COMMIT")
        # Covering: the grouped queries read the index alone, in key order.
        self.db.execute("CREATE INDEX runs_key ON runs (journal, num, debit, credit, line, day)")
        return True

    def close(self) -> None:
        self._spill.close()
        self.db.close()
        self._folder.cleanup()


_CursorState = tuple[
    int,
    list[int],
    "tuple[str, str] | None",
    int,
    "date | None",
    str,
    str,
    "date | str",
    int,
    int,
    int,
    int,
    bool,
    bool,
    bool,
    bool,
    int,
    int,
    int,
    "date | None",
    "date | None",
]


@dataclass(slots=True)
class _Cursor:
    """Where the line checks stand between two blocks: the last line read, the empty lines not
    yet known to be inside the file, the entry being read (key, first line, date, piece,
    lettering, sums, what it has shown) and the file's running totals."""

    number: int = 1
    blank_lines: list[int] = field(default_factory=list)
    run_key: tuple[str, str] | None = None
    run_line: int = 0
    run_date: date | None = None
    run_piece: str = ""
    run_let: str = ""
    run_piece_date: date | str = ""
    run_debit: int = 0
    run_credit: int = 0
    run_flagged: int = 0  # bits: 1 dates, 2 pieces, 4 piece dates, 8 letterings
    run_backwards: int = 0
    run_result: bool = False
    run_income: bool = False
    run_closing_journal: bool = False
    run_opening: bool = False
    line_count: int = 0
    debit_total: int = 0
    credit_total: int = 0
    first_date: date | None = None
    last_date: date | None = None

    def load(self) -> _CursorState:
        return (
            self.number,
            self.blank_lines,
            self.run_key,
            self.run_line,
            self.run_date,
            self.run_piece,
            self.run_let,
            self.run_piece_date,
            self.run_debit,
            self.run_credit,
            self.run_flagged,
            self.run_backwards,
            self.run_result,
            self.run_income,
            self.run_closing_journal,
            self.run_opening,
            self.line_count,
            self.debit_total,
            self.credit_total,
            self.first_date,
            self.last_date,
        )

    def store(self, *state: Any) -> None:
        for name, value in zip(_Cursor.__slots__, state, strict=True):
            setattr(self, name, value)


class FecValidator:
    def __init__(
        self,
        period: Period,
        *,
        sink: LineSink | None = None,
        max_listed: int = 1000,
        identity: FileIdentity | None = None,
        by_columns: bool = True,
    ) -> None:
        self.period = period
        self.by_columns = by_columns  # ordinary blocks column by column (False: every line alone)
        self.sink = sink
        self.identity = identity
        self.report = Report(max_listed=max_listed)
        self.stats = FecStats()
        self._dates: dict[str, tuple[date | None, str | None, bool]] = {}
        self._amounts: dict[str, tuple[int | None, str | None]] = {}
        self._accounts: dict[str, tuple[str, str | None]] = {}
        self._opening: dict[tuple[str, str], bool] = {}
        self._closing: dict[tuple[str, str], bool] = {}
        self._last_by_journal: dict[str, int] = {}
        self._last_global: int | None = None

    # -- the whole file ------------------------------------------------------------------------

    def run(self, stream: IO[bytes]) -> Report:
        report = self.report
        if self.identity is not None:
            self._file_name(self.identity)
        reader = LineReader(stream)
        blocks = reader.blocks()
        first_block = next(blocks, None)
        if first_block is None:
            header_raw = b""
        else:
            header_raw, more, rest = first_block.partition(reader.separator)
            if more:
                blocks = chain((rest,), blocks)
        if not header_raw.strip():
            report.error(1, None, "E_EMPTY_FILE", "The file is empty: the first line must name the columns")
            report.finish()
            return report
        if header_raw.endswith(b"\r"):
            self.stats.line_ending = "crlf"
            report.quirk(1, None, "W_CRLF", "Lines end with CR LF (Windows); read as line ends")
        elif reader.cr_only:
            self.stats.line_ending = "cr"
        if header_raw.startswith(b"\xef\xbb\xbf"):
            header_raw = header_raw[3:]
            report.quirk(1, None, "W_BOM", "The file starts with a UTF-8 byte order mark; ignored")
        columns = self._header(self._decode(1, header_raw.rstrip(b"\r")))
        if columns is None:
            report.finish()
            return report
        if self.stats.line_ending == "cr":
            report.quirk(1, None, "W_CR", "Lines end with CR only (old Mac); read as line ends")
        runs = _Runs()
        try:
            self._lines(blocks, reader.separator, columns, runs)
            self._entries(runs)
        finally:
            runs.close()
        stats = self.stats
        if stats.lines == 0:
            report.error(2, None, "E_NO_ENTRIES", "The file has a header but no entry")
        if abs(stats.debit_cents) + abs(stats.credit_cents) > MAX_TOTAL_CENTS:
            report.error(0, None, "E_TOTAL_RANGE", "The totals exceed what the platform records (10^12 €)")
        if stats.in_kind_uses_cents != stats.in_kind_contributions_cents:
            report.warning(
                0,
                "CompteNum",
                "W_IN_KIND_UNBALANCED",
                f"Contributions in kind: uses (86) {_money(stats.in_kind_uses_cents)} differ from "
                f"resources (87) {_money(stats.in_kind_contributions_cents)}",
            )
        report.finish()
        return report

    def _file_name(self, identity: FileIdentity) -> None:
        """``SIRENFECAAAAMMJJ``: the entity and the closing date (art. A.47 A-1, IX)."""
        name = (identity.filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
        match = _FILE_NAME.match(name)
        if match is None:
            self.report.warning(
                0, None, "W_FILE_NAME", f"The file name {name[:80]!r} is not SIRENFECAAAAMMJJ (art. A.47 A-1)"
            )
            return
        siren, closing_text = match.groups()
        closing, _, _ = parse_date(closing_text)
        self.stats.file_name_siren = siren
        self.stats.file_name_date = closing
        if not luhn_valid(siren) or closing is None:
            self.report.warning(0, None, "W_FILE_NAME", f"The file name {name[:80]!r} has no valid SIREN or date")
            return
        if identity.siren and siren != identity.siren:
            self.report.error(
                0,
                None,
                "E_FILE_NAME_SIREN",
                f"The file name names SIREN {siren}, not this CPTS's SIREN {identity.siren}: another entity's FEC",
            )
        if closing != self.period.end:
            self.report.error(
                0,
                None,
                "E_FILE_NAME_DATE",
                f"The file name's closing date {closing.isoformat()} is not the end of the fiscal period "
                f"{self.period.end.isoformat()}",
            )

    def _decode(self, number: int, raw: bytes) -> str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            self.report.quirk(
                number, None, "W_LATIN1", "Text is not UTF-8; read as Latin-1 (ISO-8859-15 / Windows-1252)"
            )
            self.stats.encoding = "latin-1"
        return text.replace("\u00a0", " ") if "\u00a0" in text else text

    # -- header ----------------------------------------------------------------------------------

    def _header(self, text: str) -> tuple[str, dict[str, int], int, int] | None:
        """The separator, each column's position, and the field counts a line may have."""
        report = self.report
        if "\t" in text:
            sep, self.stats.separator = "\t", "tab"
        elif "|" in text:
            sep, self.stats.separator = "|", "pipe"
        else:
            other = ";" if ";" in text else "," if "," in text else None
            if other:
                report.error(
                    1,
                    None,
                    "E_SEPARATOR",
                    f"Fields are separated by {other!r}: only TAB or | is allowed (comma and semicolon are "
                    "refused for fiscal years closed since 2013)",
                )
            else:
                report.error(1, None, "E_HEADER", "The first line must name the 18 FEC columns, separated by TAB or |")
            return None
        names = [n.strip() for n in text.split(sep)]
        raw_width = len(names)
        while names and not names[-1]:
            names.pop()
        if len(names) < raw_width:
            report.quirk(1, None, "W_TRAILING_SEPARATOR", "Lines end with an extra separator; ignored")
        by_lower = {c.lower(): c for c in (*COLUMNS, "Montant", "Sens")}
        found: dict[str, int] = {}
        for position, name in enumerate(names):
            canonical = by_lower.get(name.lower())
            if canonical is None:
                report.warning(1, name or f"#{position + 1}", "W_HEADER_EXTRA", f"Unknown column {name!r}; ignored")
                continue
            if canonical in found:
                report.error(1, canonical, "E_HEADER_DUPLICATE", f"The column {canonical} appears twice")
                continue
            found[canonical] = position
        # DGFiP: with a Sens column the amounts are Montant/Sens, otherwise Debit/Credit.
        expected = SENS_COLUMNS if "Sens" in found else COLUMNS
        self.stats.amount_layout = "montant_sens" if expected is SENS_COLUMNS else "debit_credit"
        for name in sorted(set(found) - set(expected)):
            report.warning(
                1,
                name,
                "W_HEADER_UNUSED_AMOUNT",
                f"The column {name} is not read in a {self.stats.amount_layout.replace('_', '/')} file; ignored",
            )
        index = {name: found[name] for name in expected if name in found}
        missing = [c for c in expected if c not in index]
        for name in missing:
            report.error(1, name, "E_HEADER_MISSING", f"The column {name} is missing from the header")
        if missing or report.error_count:
            return None
        if [index[c] for c in expected] != sorted(index[c] for c in expected):
            report.warning(1, None, "W_HEADER_ORDER", "The columns are not in the order of art. A.47 A-1")
        return sep, index, raw_width, len(names)

    # -- lines -----------------------------------------------------------------------------------

    def _lines(
        self, blocks: Iterable[bytes], linesep: bytes, columns: tuple[str, dict[str, int], int, int], runs: _Runs
    ) -> None:
        """Every block of lines: column by column when it is ordinary (see ``fec_columns``), else
        line by line; both carry the entry being read in one cursor, so a block may end anywhere."""
        cursor = _Cursor()
        sep, ix, width, short_width = columns
        by_columns = (
            self.by_columns
            and width == short_width
            and self.stats.amount_layout == "debit_credit"
            and self.stats.line_ending in ("lf", "crlf")
        )
        if by_columns:
            reader = ColumnReader(sep, ix, width, self.period)
            for raw, block in reader.ahead(iter(blocks), self.stats.line_ending == "crlf"):
                if block is None or not self._column_block(block, sep, cursor, runs):
                    self._line_block(raw.split(linesep), columns, runs, cursor)
                del raw, block  # not kept while the next one is waited for
        else:
            for raw in blocks:
                self._line_block(raw.split(linesep), columns, runs, cursor)
        self._end_lines(cursor, runs)

    def _column_block(self, block: ColumnBlock, sep: str, cursor: _Cursor, runs: _Runs) -> bool:
        """A block of ordinary lines, column by column (see ``fec_columns``): the same entries,
        totals and summary as line by line. ``False``, with nothing done, if it cannot go so."""
        if cursor.blank_lines:
            return False
        openings = {pair: self._is_opening(*pair) for pair in block.journals(sep)}
        if any(self._is_closing(*pair) for pair in openings):
            return False
        dates = block.dates
        journal, num, day, piece, piece_day = block.row(
            0, "JournalCode", "EcritureNum", "EcritureDate", "PieceRef", "PieceDate"
        )
        continuing = (journal, num) == cursor.run_key
        if continuing and (
            cursor.run_result
            or cursor.run_closing_journal
            or cursor.run_date != dates[day]
            or cursor.run_piece != piece
            or cursor.run_piece_date != dates[piece_day]
        ):
            return False
        starts = block.entry_starts()
        last_let = ""
        if block.lettered:
            lettered = pc.indices_nonzero(pc.greater(pc.binary_length(block["EcritureLet"]), 0))
            letterings = pc.take(block["EcritureLet"], lettered).to_pylist()
            lettered_lines = lettered.to_pylist()
            entries = [bisect_right(starts, i) - 1 for i in lettered_lines]
            lets = set(zip(entries, letterings, strict=True))
            if len({entry for entry, _ in lets}) != len(lets):
                return False  # an entry with several EcritureLet
            if continuing and cursor.run_let and any(e == 0 and let != cursor.run_let for e, let in lets):
                return False
            last_let = next((let for e, let in lets if e == len(starts) - 1), "")
        if continuing and len(starts) == 1:
            last_let = cursor.run_let or last_let  # one entry, still open
        self._column_quirks(block, cursor.number + 1)
        self._commit_columns(block, starts, openings, continuing, sep, cursor, runs)
        cursor.run_let = last_let
        return True

    def _column_quirks(self, block: ColumnBlock, first: int) -> None:
        """Tolerated quirks, one warning each for the file, reported in the line pass's order (a
        line's ValidDate before its EcritureDate, AAAAMMJJ texts comparing as their dates; then
        its empty Debit, Credit), all before the numbering."""
        before = pc.less(block["ValidDate"], block["EcritureDate"])
        odd = (
            pc.or_(before, pc.or_(pc.equal(block["Debit"], ""), pc.equal(block["Credit"], "")))
            if block.empty_amounts
            else before
        )
        if not pc.any(odd).as_py():
            return
        lines = pc.indices_nonzero(odd)
        quirk = self.report.quirk
        for i, valid_before, debit, credit in zip(
            lines.to_pylist(),
            pc.take(before, lines).to_pylist(),
            pc.take(block["Debit"], lines).to_pylist(),
            pc.take(block["Credit"], lines).to_pylist(),
            strict=True,
        ):
            if valid_before:
                quirk(first + i, "ValidDate", "W_VALID_BEFORE_ENTRY", "ValidDate is before EcritureDate")
            if not debit:
                quirk(first + i, "Debit", "W_EMPTY_AMOUNT", "An empty amount, read as 0")
            if not credit:
                quirk(first + i, "Credit", "W_EMPTY_AMOUNT", "An empty amount, read as 0")

    def _commit_columns(
        self,
        block: ColumnBlock,
        starts: list[int],
        openings: dict[tuple[str, str], bool],
        continuing: bool,
        sep: str,
        cursor: _Cursor,
        runs: _Runs,
    ) -> None:
        """An ordinary block's entries (``starts``: where each begins): the first may continue
        the one being read, the last stays open for the next block; the runs in between go to
        the entry grouping and the summary at once."""
        dates, sink, count = block.dates, self.sink, block.count
        first = cursor.number + 1
        cursor.number += count
        cursor.line_count += count
        cursor.debit_total += pc.sum(block.debits).as_py()
        cursor.credit_total += pc.sum(block.credits).as_py()
        low, high = (dates[day.as_py()] for day in pc.min_max(block["EcritureDate"]).values())
        if cursor.first_date is None or low < cursor.first_date:
            cursor.first_date = low
        if cursor.last_date is None or high > cursor.last_date:
            cursor.last_date = high
        ends = [*starts[1:], count]
        # Each entry's sums: differences of the running sums at its ends.
        positions = pa.array(ends, pa.int64())
        debit_ends = pc.take(pc.cumulative_sum(block.debits), pc.subtract(positions, 1)).to_pylist()
        credit_ends = pc.take(pc.cumulative_sum(block.credits), pc.subtract(positions, 1)).to_pylist()
        debit_sums = list(map(sub, debit_ends, [0, *debit_ends[:-1]]))
        credit_sums = list(map(sub, credit_ends, [0, *credit_ends[:-1]]))
        run = 0
        if continuing:
            cursor.run_debit += debit_sums[0]
            cursor.run_credit += credit_sums[0]
            cursor.run_income = cursor.run_income or block.has_income(0, ends[0])
            self._lines_one_by_one(block, first, 0, ends[0], cursor.run_opening)
            run = 1
        if run == len(starts):
            return  # one entry, still open
        self._end_open_run(cursor, runs)
        last = len(starts) - 1
        at = pa.array(starts[run:], pa.int64())
        journals = pc.take(block["JournalCode"], at).to_pylist()
        numbers_at = pc.take(block["EcritureNum"], at)
        sequence_start = consecutive_from(numbers_at)
        numbers = numbers_at.to_pylist()
        lines = list(map(add, starts[run:], repeat(first)))
        backwards = self._numbering_runs(lines, numbers, journals, sequence_start)
        if last > run:
            runs.add_columns(
                journals[:-1],
                numbers[:-1],
                block.day_ordinals(at.slice(0, len(at) - 1)),
                debit_sums[run:last],
                credit_sums[run:last],
                lines[:-1],
                backwards[:-1],
                sequence_start,
            )
            if sink is not None:
                low_i, high_i = starts[run], starts[last]
                labels = pc.take(block["JournalLib"], at).to_pylist()
                sink.add_lines(
                    first + low_i,
                    EntryLines(
                        block["CompteNum"].slice(low_i, high_i - low_i),
                        block["CompteLib"].slice(low_i, high_i - low_i),
                        block["CompAuxLib"].slice(low_i, high_i - low_i),
                        block["EcritureLib"].slice(low_i, high_i - low_i),
                        block.debits.slice(low_i, high_i - low_i),
                        block.credits.slice(low_i, high_i - low_i),
                        [s - low_i for s in starts[run:last]],
                        self._run_openings(openings, journals[:-1], labels[:-1]),
                        sep,
                    ),
                )
        # The last entry stays open: the next block may continue it.
        start = starts[last]
        journal, num, day, piece, piece_day, journal_label = block.row(
            start, "JournalCode", "EcritureNum", "EcritureDate", "PieceRef", "PieceDate", "JournalLib"
        )
        cursor.run_key, cursor.run_line = (journal, num), first + start
        cursor.run_date, cursor.run_piece = dates[day], piece
        cursor.run_piece_date = dates[piece_day]
        cursor.run_debit, cursor.run_credit = debit_sums[last], credit_sums[last]
        cursor.run_flagged = 0
        cursor.run_backwards = backwards[-1]
        cursor.run_result = cursor.run_closing_journal = False
        cursor.run_income = block.has_income(start, count)
        cursor.run_opening = openings[(journal, journal_label)]
        self._lines_one_by_one(block, first, start, count, cursor.run_opening)

    @staticmethod
    def _run_openings(openings: dict[tuple[str, str], bool], journals: list[str], labels: list[str]) -> list[bool]:
        """Whether each run is an opening entry (all alike in most blocks: no loop then)."""
        if len(set(openings.values())) == 1:
            return [next(iter(openings.values()))] * len(journals)
        return [openings[pair] for pair in zip(journals, labels, strict=True)]

    def _lines_one_by_one(self, block: ColumnBlock, first: int, start: int, stop: int, opening: bool) -> None:
        """The lines of an entry that a block cuts, to the summary one by one."""
        sink = self.sink
        if sink is None:
            return
        texts = [block.texts(name, start, stop) for name in ("CompteNum", "CompteLib", "CompAuxLib", "EcritureLib")]
        debits = block.debits.slice(start, stop - start).to_pylist()
        credits = block.credits.slice(start, stop - start).to_pylist()
        for i, (account, account_label, aux_label, label, debit, credit) in enumerate(
            zip(*texts, debits, credits, strict=True), start=first + start
        ):
            sink.add(i, account, account_label, aux_label, label, debit, credit, opening)

    def _line_block(
        self, lines: list[bytes], columns: tuple[str, dict[str, int], int, int], runs: _Runs, cursor: _Cursor
    ) -> None:
        """The detailed checks, line by line (every quirk and error with its line and column)."""
        sep, ix, width, short_width = columns
        report = self.report
        stats = self.stats
        sens_layout = stats.amount_layout == "montant_sens"
        i_journal, i_journal_lib, i_num = ix["JournalCode"], ix["JournalLib"], ix["EcritureNum"]
        i_date, i_account, i_account_lib = ix["EcritureDate"], ix["CompteNum"], ix["CompteLib"]
        i_aux, i_aux_lib, i_piece, i_piece_date = ix["CompAuxNum"], ix["CompAuxLib"], ix["PieceRef"], ix["PieceDate"]
        i_label, i_let, i_date_let, i_valid = ix["EcritureLib"], ix["EcritureLet"], ix["DateLet"], ix["ValidDate"]
        i_cur_amount, i_currency = ix["Montantdevise"], ix["Idevise"]
        i_a = ix["Montant"] if sens_layout else ix["Debit"]
        i_b = ix["Sens"] if sens_layout else ix["Credit"]
        a_name, b_name = ("Montant", "Sens") if sens_layout else ("Debit", "Credit")
        required_names = REQUIRED_TEXT
        required = itemgetter(*(ix[c] for c in REQUIRED_TEXT))
        # A header ending with a separator: lines may end with it too, or not.
        widths = {width, short_width}
        period_start, period_end = self.period.start, self.period.end
        dates = self._dates
        amounts = self._amounts
        accounts = self._accounts
        sink = self.sink
        crlf = stats.line_ending == "crlf"
        pad_left, pad_right = sep + " ", " " + sep
        # The entry being read (its key, first line, date, piece, lettering and sums): the cursor's.
        (
            number,
            blank_lines,
            run_key,
            run_line,
            run_date,
            run_piece,
            run_let,
            run_piece_date,
            run_debit,
            run_credit,
            run_flagged,
            run_backwards,
            run_result,
            run_income,
            run_closing_journal,
            run_opening,
            line_count,
            debit_total,
            credit_total,
            first_date,
            last_date,
        ) = cursor.load()
        for raw in lines:
            number += 1
            if crlf and raw.endswith(b"\r"):
                raw = raw[:-1]
            if not raw or raw.isspace():
                blank_lines.append(number)
                continue
            if blank_lines:
                for blank in blank_lines:
                    report.error(blank, None, "E_EMPTY_LINE", "An empty line inside the file")
                blank_lines = []
            try:
                text = raw.decode("utf-8")
                if "\u00a0" in text:
                    text = text.replace("\u00a0", " ")
            except UnicodeDecodeError:
                text = self._decode(number, raw)
            fields = text.split(sep)
            count = len(fields)
            if count not in widths:
                report.error(
                    number,
                    None,
                    "E_FIELD_COUNT",
                    f"{count} fields where the header has {short_width} (a separator inside a text field?)",
                )
                continue
            if count != width:
                report.quirk(number, None, "W_TRAILING_SEPARATOR", "Lines end with an extra separator; ignored")
            if pad_left in text or pad_right in text or text[0] == " " or text[-1] == " ":
                fields = [f.strip() for f in fields]
            line_count += 1
            if "" in required(fields):
                for position, name in zip(ix_required(ix), required_names, strict=True):
                    if not fields[position]:
                        report.error(number, name, "E_REQUIRED", f"{name} is mandatory and empty")
            # Dates
            entry_date_text = fields[i_date]
            known = dates.get(entry_date_text)
            if known is None:
                known = self._parse_date(entry_date_text)
            entry_date = known[0]
            if entry_date is None or known[1] is not None:
                self._date_issue(number, "EcritureDate", entry_date_text, known, required=True)
            if entry_date is not None and not period_start <= entry_date <= period_end:
                report.error(
                    number,
                    "EcritureDate",
                    "E_DATE_OUTSIDE_PERIOD",
                    f"{entry_date.isoformat()} is outside the fiscal period "
                    f"{period_start.isoformat()} – {period_end.isoformat()}",
                )
            piece_date_text = fields[i_piece_date]
            known = dates.get(piece_date_text)
            if known is None:
                known = self._parse_date(piece_date_text)
            piece_date = known[0] or piece_date_text
            if known[0] is None or known[1] is not None:
                self._date_issue(number, "PieceDate", piece_date_text, known, required=True)
            valid_text = fields[i_valid]
            known = dates.get(valid_text)
            if known is None:
                known = self._parse_date(valid_text)
            valid = known[0]
            if valid is None or known[1] is not None:
                self._date_issue(number, "ValidDate", valid_text, known, required=True)
            if valid is not None and entry_date is not None and valid < entry_date:
                report.quirk(number, "ValidDate", "W_VALID_BEFORE_ENTRY", "ValidDate is before EcritureDate")
            lettering, lettering_date = fields[i_let], fields[i_date_let]
            if lettering_date:
                has_date_let = bool(lettering_date.strip("0"))
                if has_date_let:
                    known = dates.get(lettering_date)
                    if known is None:
                        known = self._parse_date(lettering_date)
                    if known[0] is None or known[1] is not None:
                        self._date_issue(number, "DateLet", lettering_date, known, required=False)
            else:
                has_date_let = False
            if bool(lettering) != has_date_let:
                report.quirk(number, "DateLet", "W_LETTERING_PAIR", "EcritureLet and DateLet go together")
            # Account
            account_text = fields[i_account]
            known_account = accounts.get(account_text)
            if known_account is None:
                known_account = self._account(account_text)
            account, account_quirk = known_account
            if account_quirk is not None:
                self._account_issue(number, account_text, account_quirk)
            aux, aux_label = fields[i_aux], fields[i_aux_lib]
            if bool(aux) != bool(aux_label):
                report.quirk(number, "CompAuxLib", "W_AUX_PAIR", "CompAuxNum and CompAuxLib go together")
            # Currency
            currency_amount, currency = fields[i_cur_amount], fields[i_currency]
            if currency_amount or currency:
                self._currency(number, currency_amount, currency)
            # Amounts
            debit = credit = 0
            amounts_ok = True
            text_a = fields[i_a]
            plain = text_a.replace(",", "", 1)
            if len(text_a) > 3 and text_a[-3] == "," and plain.isascii() and plain.isdigit():
                first: int | None = int(plain)  # the common case, "1234,56", without a call
            else:
                parsed = amounts.get(text_a)
                if parsed is None:
                    parsed = self._parse_amount(text_a)
                first = parsed[0]
                if first is None or parsed[1] is not None:
                    self._amount_issue(number, a_name, text_a, parsed)
            if sens_layout:
                direction = SENS_CODES.get(fields[i_b].upper())
                if direction is None:
                    amounts_ok = False
                    report.error(number, "Sens", "E_SENS", f"{fields[i_b][:10]!r}: Sens is D, C, +1 or -1")
                elif first is not None:
                    if direction:
                        debit = first
                    else:
                        credit = first
            else:
                text_b = fields[i_b]
                plain = text_b.replace(",", "", 1)
                if len(text_b) > 3 and text_b[-3] == "," and plain.isascii() and plain.isdigit():
                    second: int | None = int(plain)
                else:
                    parsed = amounts.get(text_b)
                    if parsed is None:
                        parsed = self._parse_amount(text_b)
                    second = parsed[0]
                    if second is None or parsed[1] is not None:
                        self._amount_issue(number, b_name, text_b, parsed)
                debit, credit = first or 0, second or 0
                amounts_ok = second is not None
            if debit and credit:
                report.quirk(number, None, "W_DEBIT_AND_CREDIT", "Both debit and credit are filled on one line")
            elif not debit and not credit and amounts_ok and first is not None:
                report.quirk(number, None, "W_ZERO_AMOUNT", "A line with a zero amount")
            if debit < 0 or credit < 0:
                report.quirk(number, None, "W_NEGATIVE_AMOUNT", "A negative amount")
            debit_total += debit
            credit_total += credit
            # Entries: a run of contiguous lines of one JournalCode + EcritureNum.
            num = fields[i_num]
            journal = fields[i_journal]
            key = (journal, num)
            if key != run_key:
                if run_key is not None:
                    self._end_run(
                        runs,
                        (run_key[0], run_key[1], run_date, run_debit, run_credit, run_line, run_backwards),
                        run_income and (run_result or run_closing_journal),
                    )
                run_key = key
                run_line = number
                run_date, run_piece, run_piece_date, run_let = entry_date, fields[i_piece], piece_date, lettering
                if entry_date is not None:
                    if first_date is None or entry_date < first_date:
                        first_date = entry_date
                    if last_date is None or entry_date > last_date:
                        last_date = entry_date
                run_debit = run_credit = run_flagged = 0
                run_backwards = self._numbering(number, num, journal)
                run_result = run_income = False
                journal_label = fields[i_journal_lib]
                run_closing_journal = self._is_closing(journal, journal_label)
                run_opening = self._is_opening(journal, journal_label)
            else:
                if entry_date != run_date and not run_flagged & 1:
                    run_flagged |= 1
                    report.error(number, "EcritureDate", "E_ENTRY_DATES", f"Entry {num[:40]} has several posting dates")
                if fields[i_piece] != run_piece and not run_flagged & 2:
                    run_flagged |= 2
                    report.quirk(number, "PieceRef", "W_ENTRY_PIECES", "An entry has several PieceRef")
                if piece_date != run_piece_date and not run_flagged & 4:
                    run_flagged |= 4
                    report.quirk(number, "PieceDate", "W_ENTRY_PIECE_DATES", "An entry has several PieceDate")
                if lettering and lettering != run_let:
                    if not run_let:
                        run_let = lettering
                    elif not run_flagged & 8:
                        run_flagged |= 8
                        report.quirk(number, "EcritureLet", "W_ENTRY_LETTERINGS", "An entry has several EcritureLet")
            run_debit += debit
            run_credit += credit
            if not account:
                continue
            klass = account[0]
            if klass in "67":
                run_income = True
            elif klass == "1" and account[1] == "2":
                run_result = True
            elif klass == "8":
                if account[1] == "6":
                    stats.in_kind_uses_cents += debit - credit
                elif account[1] == "7":
                    stats.in_kind_contributions_cents += credit - debit
            elif klass == "9":
                continue  # analytical: outside the general accounts and the summary
            if sink is not None:
                sink.add(number, account, fields[i_account_lib], aux_label, fields[i_label], debit, credit, run_opening)
        cursor.store(
            number,
            blank_lines,
            run_key,
            run_line,
            run_date,
            run_piece,
            run_let,
            run_piece_date,
            run_debit,
            run_credit,
            run_flagged,
            run_backwards,
            run_result,
            run_income,
            run_closing_journal,
            run_opening,
            line_count,
            debit_total,
            credit_total,
            first_date,
            last_date,
        )

    def _end_lines(self, cursor: _Cursor, runs: _Runs) -> None:
        """The end of the file: trailing empty lines, the totals, the last entry."""
        stats = self.stats
        if cursor.blank_lines:
            self.report.quirk(
                cursor.blank_lines[0], None, "W_TRAILING_EMPTY_LINES", "Empty lines at the end of the file"
            )
        stats.lines, stats.debit_cents, stats.credit_cents = cursor.line_count, cursor.debit_total, cursor.credit_total
        stats.first_date, stats.last_date = cursor.first_date, cursor.last_date
        self._end_open_run(cursor, runs)
        runs.flush()

    def _end_open_run(self, cursor: _Cursor, runs: _Runs) -> None:
        if cursor.run_key is not None:
            self._end_run(
                runs,
                (
                    cursor.run_key[0],
                    cursor.run_key[1],
                    cursor.run_date,
                    cursor.run_debit,
                    cursor.run_credit,
                    cursor.run_line,
                    cursor.run_backwards,
                ),
                cursor.run_income and (cursor.run_result or cursor.run_closing_journal),
            )
            cursor.run_key = None

    def _end_run(self, runs: _Runs, run: tuple[str, str, date | None, int, int, int, int], closing: bool) -> None:
        """A run of contiguous lines of one entry ends: one row to the spill file; a closing
        entry is reported; the summary is told (it sets a closing entry's class 6/7 apart)."""
        journal, num, day, debit, credit, line, backwards = run
        runs.add((journal, num, day.toordinal() if day is not None else 0, debit, credit, line, backwards))
        if closing:
            self._closing_entry(line)
        if self.sink is not None:
            self.sink.end_entry(line, closing)

    def _entries(self, runs: _Runs) -> None:
        """Whole-file checks of the entries, in SQL over the candidate runs (``_Runs.load``)."""
        report = self.report
        db = runs.db
        if not runs.count:
            return
        if not runs.load():
            self.stats.entries = runs.count  # every entry balanced, contiguous, in one journal
            return
        extra_runs = 0
        split: set[tuple[str, str]] = set()
        query = (
            "SELECT journal, num, count(*), sum(debit), sum(credit), min(line), min(day), max(day)"
            " FROM runs GROUP BY journal, num HAVING count(*) > 1 OR sum(debit) != sum(credit)"
        )
        for journal, num, pieces, debit, credit, line, low, high in db.execute(query):
            name = f"{journal[:20]} {num[:40]}"
            if pieces > 1:
                extra_runs += pieces - 1
                if len(split) < 100_000:
                    split.add((journal, num))
                report.quirk(line, "EcritureNum", "W_NON_CONTIGUOUS_ENTRY", "The lines of an entry are not contiguous")
                if low != high:
                    later = db.execute(
                        "SELECT min(line) FROM runs WHERE journal = ? AND num = ? AND day != ?", (journal, num, low)
                    ).fetchone()[0]
                    report.error(
                        later or line,
                        "EcritureDate",
                        "E_ENTRY_DATES",
                        f"Entry {name} has several posting dates ({_day(low)}, {_day(high)}) across the file",
                    )
            if debit != credit:
                report.error(
                    line,
                    "EcritureNum",
                    "E_UNBALANCED_ENTRY",
                    f"Entry {name} is not balanced once all its lines are summed: debit {_money(debit)}, "
                    f"credit {_money(credit)}",
                )
        self.stats.entries = runs.count - extra_runs
        reused = (
            "SELECT num, min(line) FROM runs WHERE num != '' GROUP BY num HAVING count(DISTINCT journal) > 1"
            " ORDER BY min(line)"
        )
        for num, line in db.execute(reused):
            report.quirk(
                line,
                "EcritureNum",
                "W_NUMBER_IN_SEVERAL_JOURNALS",
                f"Entry number {num[:40]} is used in several journals (numbered per journal?)",
            )
        if not runs.backwards:
            return
        for journal, num, line in db.execute("SELECT journal, num, line FROM runs WHERE backwards = 1"):
            if (journal, num) not in split:
                report.quirk(line, "EcritureNum", "W_NUMBERING_ORDER", "Entry numbers go backwards within a journal")

    def _numbering_runs(
        self, lines: list[int], numbers: list[str], journals: list[str], start: int | None
    ) -> list[int]:
        """``_numbering`` of new runs, in order: at once when each number is the last one plus
        one (``start``: the first one's value if they go on by one; the usual file: no quirk),
        else one by one."""
        last_by_journal = self._last_by_journal
        count = len(journals)
        if (
            start is not None
            and (self._last_global is None or start == self._last_global + 1)
            and len(last_by_journal) + len(set(journals).difference(last_by_journal)) < CACHE_LIMIT
        ):
            self._last_global = start + count - 1
            last_by_journal.update(zip(journals, range(start, start + count), strict=True))
            return [0] * count
        return list(map(self._numbering, lines, numbers, journals))

    def _numbering(self, line: int, num: str, journal: str) -> int:
        """Checks a new run's number against its journal's sequence; 1 if it goes backwards (a
        disorder, unless the run continues an entry seen before: decided at the end)."""
        if num.isascii() and num.isdigit():
            value = int(num)
        else:
            match = _TRAILING_NUMBER.search(num)
            if match is None:
                return 0
            value = int(match.group(1))
        last_global = self._last_global
        last_journal = self._last_by_journal.get(journal)
        backwards = 0
        if last_global is not None and value != last_global + 1 and (last_journal is None or value != last_journal + 1):
            if last_journal is not None and value <= last_journal:
                backwards = 1
            elif last_journal is not None:
                self.report.quirk(line, "EcritureNum", "W_NUMBERING_GAP", "A gap in the entry numbering")
        self._last_global = value
        if backwards:
            return 1
        if len(self._last_by_journal) >= CACHE_LIMIT and journal not in self._last_by_journal:
            self._last_by_journal.clear()
        self._last_by_journal[journal] = value
        return 0

    def _closing_entry(self, line: int) -> None:
        self.stats.closing_entries += 1
        self.report.quirk(
            line,
            "CompteNum",
            "W_CLOSING_ENTRIES",
            "Closing entries move the class 6/7 balances into 120/129 (a FEC holds none); "
            "the income summary is computed before them",
        )

    # -- fields ----------------------------------------------------------------------------------

    def _parse_date(self, text: str) -> tuple[date | None, str | None, bool]:
        parsed = parse_date(text) if text else (None, None, True)
        if len(self._dates) >= CACHE_LIMIT:
            self._dates.clear()
        self._dates[text] = parsed
        return parsed

    def _date_issue(
        self, line: int, column: str, text: str, parsed: tuple[date | None, str | None, bool], *, required: bool
    ) -> None:
        value, quirk, well_formed = parsed
        if not text:
            if required:
                self.report.error(line, column, "E_REQUIRED", f"{column} is mandatory and empty")
        elif not well_formed:
            self.report.error(line, column, "E_DATE_FORMAT", f"{text[:20]!r} is not a date AAAAMMJJ")
        elif value is None:
            self.report.error(line, column, "E_DATE_INVALID", f"{text[:20]} is not a calendar date")
        elif quirk is not None:
            self.report.quirk(
                line, column, quirk, f"A date written {text[:20]!r}: the format is AAAAMMJJ; read as {value}"
            )

    def _parse_amount(self, text: str) -> tuple[int | None, str | None]:
        parsed = parse_amount(text) if text else (0, "W_EMPTY_AMOUNT")
        if len(self._amounts) >= CACHE_LIMIT:
            self._amounts.clear()
        self._amounts[text] = parsed
        return parsed

    def _amount_issue(self, line: int, column: str, text: str, parsed: tuple[int | None, str | None]) -> None:
        cents, quirk = parsed
        if cents is None:
            self.report.error(
                line,
                column,
                "E_AMOUNT_FORMAT",
                f"{text[:30]!r} is not an amount exact to the cent (decimal comma, no thousands separator)",
            )
        elif quirk == "W_EMPTY_AMOUNT":
            self.report.quirk(line, column, quirk, "An empty amount, read as 0")
        elif quirk == DECIMAL_POINT:
            self.report.quirk(line, column, quirk, "A decimal point where the format wants a comma")
        elif quirk == AMOUNT_PRECISION:
            self.report.quirk(line, column, quirk, "More than two decimals (zeros): read to the cent")
        elif quirk is not None:
            self.report.quirk(line, column, quirk, "An amount in exponent notation: read to the cent")

    def _account(self, text: str) -> tuple[str, str | None]:
        """The account number as the summary reads it, and a quirk or error code."""
        found: tuple[str, str | None]
        if _ACCOUNT.match(text):
            found = (text, "W_ANALYTICAL_ACCOUNT" if text[0] == "9" else None)
        else:
            joined = _ACCOUNT_SEPARATORS.sub("", text)
            if text and _ACCOUNT.match(joined):
                found = (joined, "W_ANALYTICAL_ACCOUNT" if joined[0] == "9" else "W_ACCOUNT_SEPARATORS")
            else:
                found = ("", "E_ACCOUNT_FORMAT" if text else None)
        if len(self._accounts) >= CACHE_LIMIT:
            self._accounts.clear()
        self._accounts[text] = found
        return found

    def _account_issue(self, line: int, text: str, code: str) -> None:
        if code == "E_ACCOUNT_FORMAT":
            self.report.error(
                line, "CompteNum", code, f"{text[:40]!r}: an account number starts with three digits (PCG)"
            )
        elif code == "W_ANALYTICAL_ACCOUNT":
            self.report.quirk(
                line, "CompteNum", code, "Class 9 (analytical) accounts: accepted, left out of the summary"
            )
        else:
            self.report.quirk(
                line, "CompteNum", code, f"An account number written {text[:40]!r}: read without its separators"
            )

    def _currency(self, line: int, amount: str, currency: str) -> None:
        if amount:
            cents, _ = parse_amount(amount)
            if cents is None:
                self.report.error(line, "Montantdevise", "E_AMOUNT_FORMAT", f"{amount[:30]!r} is not an amount")
        if bool(currency) != bool(amount and amount.strip("0,.+-")):
            self.report.quirk(line, "Idevise", "W_CURRENCY_PAIR", "Montantdevise and Idevise go together")

    def _is_opening(self, journal: str, journal_label: str) -> bool:
        key = (journal, journal_label)
        known = self._opening.get(key)
        if known is None:
            label = fold(journal_label)
            known = journal.upper() in OPENING_JOURNALS or any(w in label for w in OPENING_WORDS)
            if len(self._opening) >= CACHE_LIMIT:
                self._opening.clear()
            self._opening[key] = known
        return known

    def _is_closing(self, journal: str, journal_label: str) -> bool:
        key = (journal, journal_label)
        known = self._closing.get(key)
        if known is None:
            known = is_closing_journal(journal, journal_label)
            if len(self._closing) >= CACHE_LIMIT:
                self._closing.clear()
            self._closing[key] = known
        return known


def names_a_fec(filename: str) -> bool:
    """Whether a file name follows ``SIRENFECAAAAMMJJ`` (an extension or two allowed)."""
    return _FILE_NAME.match(filename.replace("\\", "/").rsplit("/", 1)[-1].strip()) is not None


def is_closing_journal(journal: str, journal_label: str) -> bool:
    """A journal of closing entries (clôture), by its code or a word of its label."""
    return journal.upper() in CLOSING_JOURNALS or any(w in fold(journal_label) for w in CLOSING_WORDS)


def ix_required(ix: dict[str, int]) -> list[int]:
    return [ix[c] for c in REQUIRED_TEXT]


def validate_fec(
    stream: IO[bytes],
    period: Period,
    *,
    sink: LineSink | None = None,
    max_listed: int = 1000,
    identity: FileIdentity | None = None,
) -> Report:
    """Validate a FEC read from a binary stream; returns the report (see :class:`Report`)."""
    return FecValidator(period, sink=sink, max_listed=max_listed, identity=identity).run(stream)
