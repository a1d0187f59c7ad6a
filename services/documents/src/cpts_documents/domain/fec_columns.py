"""The fast path of the FEC checks: a block of ordinary lines, parsed by Arrow and checked column
by column.

Most lines of a FEC are ordinary: UTF-8, exactly the header's fields, no space to trim, dates
written AAAAMMJJ (EcritureDate inside the period; a ValidDate before it is a tolerated quirk),
amounts written ``1234,56`` on one side only (the other ``0,00`` or empty: a quirk), accounts of
classes 1 to 7 written with digits (not 12x: a closing entry needs the closer look), no
currency, a lettering only with its date and at most one per entry, an auxiliary account with
its label, and each entry's date, piece and journal the same on all its lines. On such lines no
check of the line-by-line pass fires (but those two quirks, reported by the validator in the
same order), so a block of them only needs its columns: Arrow's CSV parser (C++, quoting off: a
FEC has no quotes) splits the block, and each check is one vectorised operation over a whole
column (``pyarrow.compute``); Python only looks at the distinct dates and accounts. A block where
any of this does not hold goes through the line-by-line pass, which reports every issue with its
line and column; both passes give the same report and summary (tested on the corpus, generated
and mutated files).

The next block is read and checked in a worker thread while the validator commits the one
before (``ColumnReader.ahead``): Arrow's parse and kernels release the GIL, so about a third of
the pass runs beside the rest, for one more block in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

if TYPE_CHECKING:
    from cpts_documents.domain.fec import Period

# A bound for the distinct dates and accounts kept between blocks (a block adds at most its own).
DATE_LIMIT = 20_000
# Amounts of at most 11 digits before the comma, so that a block's sums stay within Arrow's int64
# (a larger amount goes line by line, where Python's integers hold any sum).
_PLAIN_AMOUNT = r"^(?:[0-9]{1,11},[0-9]{2})?$"
MAX_ROWS = 500_000  # x 10^13 cents: still within int64
# Arrow allocates from its bundled jemalloc, which hands back what a block's parse frees: the C
# library's malloc (which earlier code used) kept two blocks' worth of freed pages once a block is
# read ahead in a thread (1,000,000 lines: peak 130 MB against 112 MB), and Arrow's default
# (mimalloc) even more (135 MB). Where the wheel has no jemalloc, malloc it is.
try:
    pa.set_memory_pool(pa.jemalloc_memory_pool())
except NotImplementedError:  # pragma: no cover - wheels built without jemalloc
    pa.set_memory_pool(pa.system_memory_pool())
_ORDINAL_1970 = date(1970, 1, 1).toordinal()
# What the line-by-line pass reads as an account without quirk, of classes 1 to 7, not 12x.
_PLAIN_ACCOUNT = re.compile(r"(?:1[013-9]|[2-7][0-9])[0-9][0-9A-Za-z]*")
# The columns read as free text: the line pass trims them when a space touches a separator.
_TEXT = (
    "JournalCode",
    "JournalLib",
    "EcritureNum",
    "CompteLib",
    "CompAuxNum",
    "CompAuxLib",
    "PieceRef",
    "EcritureLib",
    "EcritureLet",
)


@dataclass(frozen=True, slots=True)
class ColumnBlock:
    """A block of ordinary lines, as columns: each a string array, by its FEC name; the amounts
    in cents; ``new_entry[i]``: line ``i + 1`` starts another entry than line ``i``; ``dates``:
    the date of each AAAAMMJJ text (at least the block's)."""

    columns: dict[str, Any]
    dates: dict[str, date]
    count: int
    debits: Any
    credits: Any
    new_entry: Any
    lettered: bool
    empty_amounts: bool

    def __getitem__(self, name: str) -> Any:
        return self.columns[name]

    def texts(self, name: str, start: int = 0, stop: int | None = None) -> list[str]:
        column = self.columns[name]
        return column.slice(start, (stop if stop is not None else self.count) - start).to_pylist()  # type: ignore[no-any-return]

    def row(self, i: int, *names: str) -> tuple[str, ...]:
        return tuple(self.columns[name][i].as_py() for name in names)

    def journals(self, sep: str) -> list[tuple[str, str]]:
        """The distinct (JournalCode, JournalLib) pairs (``sep``: the file's, in neither)."""
        pairs = pc.unique(pc.binary_join_element_wise(self.columns["JournalCode"], self.columns["JournalLib"], sep))
        return [(journal, label) for journal, _, label in (pair.partition(sep) for pair in pairs.to_pylist())]

    def day_ordinals(self, lines: Any) -> list[int]:
        """The EcritureDate of these lines as ordinals (``date.toordinal``), read by Arrow."""
        days = pc.strptime(pc.take(self.columns["EcritureDate"], lines), format="%Y%m%d", unit="s")
        since_1970 = pc.cast(pc.cast(days, pa.date32()), pa.int32())
        return pc.add(since_1970, _ORDINAL_1970).to_pylist()  # type: ignore[no-any-return]

    def has_income(self, start: int, stop: int) -> bool:
        """Whether a line from ``start`` to ``stop`` is of class 6 or 7."""
        accounts = self.columns["CompteNum"].slice(start, stop - start)
        return bool(pc.any(pc.match_substring_regex(accounts, "^[67]")).as_py())

    def entry_starts(self) -> list[int]:
        return [0, *(pc.add(pc.indices_nonzero(self.new_entry), 1).to_pylist())]


@dataclass(frozen=True, slots=True)
class EntryLines:
    """Whole entries of an ordinary block, for the summary (``LineSink.add_lines``): Arrow
    columns of the accounts, labels and amounts (cents), where each entry starts and whether it
    is an opening entry; ``sep``: the file's separator, which no field holds."""

    accounts: Any
    account_labels: Any
    aux_labels: Any
    labels: Any
    debits: Any
    credits: Any
    starts: list[int]
    openings: list[bool]
    sep: str


def consecutive_from(numbers: Any) -> int | None:
    """The first number's value if every one is written in ASCII digits and is the previous
    one plus one (the usual numbering), else ``None`` (``numbers``: an Arrow string array)."""
    if not len(numbers) or not pc.all(pc.match_substring_regex(numbers, "^[0-9]{1,18}$")).as_py():
        return None
    values = pc.cast(numbers, pa.int64())
    if len(values) > 1 and not pc.all(pc.equal(pc.pairwise_diff(values), 1)).as_py():
        return None
    return values[0].as_py()  # type: ignore[no-any-return]


class ColumnReader:
    """Parses a block with Arrow and checks that its lines are ordinary; keeps the dates and
    accounts already found plain."""

    def __init__(self, sep: str, ix: dict[str, int], width: int, period: Period) -> None:
        self.sep = sep
        names = [f"f{k}" for k in range(width)]
        self._names = {name: names[k] for name, k in ix.items()}
        self._parse = pa_csv.ParseOptions(
            delimiter=sep, quote_char=False, double_quote=False, escape_char=False, ignore_empty_lines=False
        )
        self._convert = pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
        )
        self._names_all = names
        # A column outside the 18 that the line pass reads is still trimmed with the others.
        self._unread = [n for k, n in enumerate(names) if k not in set(ix.values())]
        # AAAAMMJJ texts compare as their dates do.
        self.first_day = period.start.strftime("%Y%m%d")
        self.last_day = period.end.strftime("%Y%m%d")
        self.dates: dict[str, date] = {}
        self.accounts: set[str] = set()

    def ahead(self, blocks: Iterator[bytes], crlf: bool) -> Iterator[tuple[bytes, ColumnBlock | None]]:
        """Each block with its columns (``None``: not ordinary), the next one read and checked in
        a worker thread while the caller works on this one (the reader's state is the worker's
        alone: a block carries the dates it needs)."""

        def next_read() -> tuple[bytes, ColumnBlock | None] | None:
            raw = next(blocks, None)
            return None if raw is None else (raw, self.read(raw, crlf))

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fec-columns") as worker:
            upcoming: Future[tuple[bytes, ColumnBlock | None] | None] = worker.submit(next_read)
            while (current := upcoming.result()) is not None:
                upcoming = worker.submit(next_read)
                yield current
                current = None  # let it go before waiting for the next: two blocks at most

    def read(self, block: bytes, crlf: bool) -> ColumnBlock | None:
        """The block's columns, or ``None`` if a line is not ordinary (see the module's doc)."""
        # Arrow reads a last empty line as none: the line pass sees it (an empty line).
        if not block or block.endswith(b"\n") or (not crlf and b"\r" in block):
            return None
        # A non-breaking space is read as a space by the line pass (and then maybe trimmed).
        if b"\xc2" in block and b"\xc2\xa0" in block:
            return None
        try:
            table = pa_csv.read_csv(
                pa.BufferReader(block),
                # One chunk per column: the whole block at once.
                read_options=pa_csv.ReadOptions(
                    column_names=self._names_all, use_threads=False, block_size=len(block) + 1
                ),
                parse_options=self._parse,
                convert_options=self._convert,
            )
        except pa.ArrowInvalid:
            return None  # another field count, or not UTF-8
        count = table.num_rows
        # Arrow also ends a line at a CR alone (only CRLF files get here with a CR): such a line
        # would come out as two rows.
        if count > MAX_ROWS or (crlf and count != block.count(b"\n") + 1):
            return None
        columns = {name: table.column(position).chunk(0) for name, position in self._names.items()}
        return self._check(columns, count, [table.column(n).chunk(0) for n in self._unread])

    def _check(self, columns: dict[str, Any], count: int, unread: list[Any]) -> ColumnBlock | None:
        def empty(name: str) -> Any:
            return pc.equal(pc.binary_length(columns[name]), 0)

        def none_empty(name: str) -> bool:
            return pc.min(pc.binary_length(columns[name])).as_py() > 0  # type: ignore[no-any-return]

        def all_empty(name: str) -> bool:
            return pc.max(pc.binary_length(columns[name])).as_py() == 0  # type: ignore[no-any-return]

        # An empty line comes out as a row of empty fields: refused here with the required ones.
        if not all(map(none_empty, ("JournalCode", "JournalLib", "EcritureNum", "CompteNum"))):
            return None
        if not all(map(none_empty, ("CompteLib", "PieceRef", "EcritureLib"))):
            return None
        if not (all_empty("Montantdevise") and all_empty("Idevise")):
            return None
        for column in (*(columns[name] for name in _TEXT), *unread):
            if pc.any(pc.starts_with(column, " ")).as_py() or pc.any(pc.ends_with(column, " ")).as_py():
                return None
        # Letterings: on some lines only, each with its date (one per entry: checked by the caller).
        lettered = not (all_empty("EcritureLet") and all_empty("DateLet"))
        if lettered and not pc.all(pc.equal(empty("EcritureLet"), empty("DateLet"))).as_py():
            return None
        days = columns["EcritureDate"]
        date_columns = [days, columns["PieceDate"], columns["ValidDate"]]
        if lettered:
            date_columns.append(pc.filter(columns["DateLet"], pc.invert(empty("DateLet"))))
        if not self._plain_dates(date_columns):
            return None
        low, high = pc.min_max(days).values()
        if low.as_py() < self.first_day or high.as_py() > self.last_day:
            return None
        if not pc.all(pc.equal(empty("CompAuxNum"), empty("CompAuxLib"))).as_py():
            return None
        if not self._plain_accounts(columns["CompteNum"]):
            return None
        debit_amounts, credit_amounts = self._amounts(columns["Debit"]), self._amounts(columns["Credit"])
        if debit_amounts is None or credit_amounts is None:
            return None
        (debits, empty_debits), (credits, empty_credits) = debit_amounts, credit_amounts
        if not pc.all(pc.xor(pc.not_equal(debits, 0), pc.not_equal(credits, 0))).as_py():
            return None

        # Entries: JournalCode + EcritureNum changes where, and only where, the date, the piece,
        # its date or the journal's label may change.
        def changes(name: str) -> Any:
            column = columns[name]
            return pc.not_equal(column.slice(1), column.slice(0, count - 1))

        new_entry = pc.or_(changes("JournalCode"), changes("EcritureNum"))
        others = pc.or_(
            pc.or_(changes("EcritureDate"), changes("PieceRef")), pc.or_(changes("PieceDate"), changes("JournalLib"))
        )
        if pc.any(pc.and_not(others, new_entry)).as_py():
            return None
        return ColumnBlock(
            columns, self.dates, count, debits, credits, new_entry, lettered, empty_debits or empty_credits
        )

    def _amounts(self, column: Any) -> tuple[Any, bool] | None:
        """The amounts in cents if every one is written ``1234,56`` (or empty: 0), else ``None``;
        and whether one is empty."""
        if not pc.all(pc.match_substring_regex(column, _PLAIN_AMOUNT)).as_py():
            return None
        digits = pc.binary_replace_slice(column, -3, -2, "")  # the comma, third from the end
        empties = pc.equal(pc.binary_length(column), 0)
        empty = pc.any(empties).as_py()
        if empty:
            digits = pc.if_else(empties, "0", digits)
        return pc.cast(digits, pa.int64()), bool(empty)

    def _plain_dates(self, columns: list[Any]) -> bool:
        """Every value is a calendar date written AAAAMMJJ (then in ``self.dates``)."""
        from cpts_documents.domain.fec import parse_date

        known = self.dates
        if len(known) > DATE_LIMIT:
            known = self.dates = {}  # a new map: the block before may still read the old one
        for column in columns:
            for text in set(pc.unique(column).to_pylist()).difference(known):
                if len(text) != 8:
                    return False
                day, quirk, _ = parse_date(text)
                if day is None or quirk is not None:
                    return False
                known[text] = day
        return True

    def _plain_accounts(self, column: Any) -> bool:
        known = self.accounts
        if len(known) > DATE_LIMIT:
            known.clear()
        for text in set(pc.unique(column).to_pylist()).difference(known):
            if _PLAIN_ACCOUNT.fullmatch(text) is None:
                return False
            known.add(text)
        return True
