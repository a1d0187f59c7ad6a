"""Streaming parser and validator of the fichier des écritures comptables (FEC).

The rules are those of art. A.47 A-1 LPF as the DGFiP's own tester (Test-Compta-Demat) applies
them, plus the doctrine's content rules; each has a stable code (see the service README):

- header: the 18 columns by name (case-insensitive), Debit/Credit or the Montant/Sens variant;
  TAB or pipe separator (comma and semicolon are refused since 2013);
- every line has the header's number of fields; mandatory fields are filled; dates are real
  AAAAMMJJ dates and EcritureDate lies inside the fiscal period; amounts use a decimal comma,
  no thousands separator, at most two decimals; Sens is D, C, +1 or -1; CompteNum starts with
  three digits of a class 1 to 8;
- each entry (EcritureNum) is balanced and keeps one journal and one date; entry numbers follow
  a continuous sequence (globally or within their journal).

Harmless real-world quirks are accepted and reported as warnings: a UTF-8 byte order mark,
CRLF or CR line ends, a trailing separator, a Latin-1/Windows-1252 encoding, a decimal point,
empty amounts read as zero, trailing empty lines.

Memory stays bounded whatever the file size: lines are read in chunks and forgotten; only the
entries not yet balanced are kept (a dict keyed by EcritureNum). When the number changes and the
entry left behind balances, it is closed; an entry whose lines are spread through the file stays
open until its lines balance, and one still open at the end is unbalanced. Entry sums are
additive, so closing a balanced part early loses nothing. A file interleaving more than
``max_open_entries`` unbalanced entries at once is rejected (E_TOO_MANY_OPEN_ENTRIES): sort it
by EcritureNum.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any, Protocol

from cpts_documents.domain.report import Report
from cpts_documents.domain.text import fold

CHUNK = 1 << 20

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

MAX_TOTAL_CENTS = 99_999_999_999_999  # Numeric(14, 2): what Money holds
_AMOUNT = re.compile(r"^([+-]?)(\d+)(?:([,.])(\d*))?([+-]?)$")
_ACCOUNT = re.compile(r"^[1-8]\d{2}[0-9A-Za-z]*$")
_TRAILING_NUMBER = re.compile(r"(\d+)$")


class LineSink(Protocol):
    """Receives each line that passed the checks it depends on (the summary, for instance)."""

    def add(
        self,
        line: int,
        journal: str,
        account: str,
        account_label: str,
        aux_label: str,
        label: str,
        debit: int,
        credit: int,
        opening: bool,
    ) -> None: ...


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @classmethod
    def calendar_year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31))


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
        }


@dataclass(slots=True)
class _Entry:
    first_line: int
    journal: str
    date: str
    piece: str
    debit: int = 0
    credit: int = 0
    flagged: set[str] = field(default_factory=set)


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def parse_cents(text: str) -> tuple[int | None, bool]:
    """An FEC amount in cents, and whether it used a decimal point. ``None`` if malformed or
    more precise than a cent."""
    match = _AMOUNT.match(text)
    if match is None:
        return None, False
    lead, whole, sep, frac, trail = match.groups()
    if lead and trail:
        return None, False
    frac = frac or ""
    if len(frac) > 2:
        if frac[2:].strip("0"):
            return None, False
        frac = frac[:2]
    cents = int(whole) * 100 + int(frac.ljust(2, "0") or "0")
    if "-" in (lead, trail):
        cents = -cents
    return cents, sep == "."


class LineReader:
    """Lines of a binary stream without their end (LF, CRLF or CR), read in chunks.
    ``cr_only`` tells whether lines end with CR alone (old Mac files)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.first = stream.read(CHUNK)
        self.cr_only = b"\n" not in self.first and b"\r" in self.first

    def __iter__(self) -> Iterator[bytes]:
        sep = b"\r" if self.cr_only else b"\n"
        carry = b""
        chunk = self.first
        while chunk:
            parts = (carry + chunk).split(sep)
            carry = parts.pop()
            yield from parts
            chunk = self.stream.read(CHUNK)
        if carry:
            yield carry


def split_lines(stream: IO[bytes]) -> Iterator[bytes]:
    return iter(LineReader(stream))


class FecValidator:
    def __init__(
        self,
        period: Period,
        *,
        sink: LineSink | None = None,
        max_listed: int = 1000,
        max_open_entries: int = 100_000,
    ) -> None:
        self.period = period
        self.sink = sink
        self.report = Report(max_listed=max_listed)
        self.stats = FecStats()
        self.max_open_entries = max_open_entries
        self._dates: dict[str, date | None] = {}
        self._amounts: dict[str, int] = {}
        self._header_trailing = False
        self._accounts: set[str] = set()
        self._opening: dict[tuple[str, str], bool] = {}
        self._open: dict[str, _Entry] = {}
        self._tracking = True
        self._last_global: int | None = None
        self._last_by_journal: dict[str, int] = {}

    # -- the whole file ------------------------------------------------------------------------

    def run(self, stream: IO[bytes]) -> Report:
        report = self.report
        reader = LineReader(stream)
        lines = iter(reader)
        header_raw = next(lines, None)
        if header_raw is None or not header_raw.strip():
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
        self._lines(lines, columns)
        report.finish()
        return report

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
            self.stats.encoding = "latin-1" if self.stats.encoding == "utf-8" else self.stats.encoding
        return text.replace("\u00a0", " ") if "\u00a0" in text else text

    # -- header ----------------------------------------------------------------------------------

    def _header(self, text: str) -> tuple[str, dict[str, int], int] | None:
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
        while names and not names[-1]:
            names.pop()
            self._header_trailing = True
            report.quirk(1, None, "W_TRAILING_SEPARATOR", "Lines end with an extra separator; ignored")
        by_lower = {c.lower(): c for c in (*COLUMNS, "Montant", "Sens")}
        index: dict[str, int] = {}
        for position, name in enumerate(names):
            canonical = by_lower.get(name.lower())
            if canonical is None:
                report.warning(1, name or f"#{position + 1}", "W_HEADER_EXTRA", f"Unknown column {name!r}; ignored")
                continue
            if canonical in index:
                report.error(1, canonical, "E_HEADER_DUPLICATE", f"The column {canonical} appears twice")
                continue
            index[canonical] = position
        expected = SENS_COLUMNS if "Sens" in index or "Montant" in index else COLUMNS
        self.stats.amount_layout = "montant_sens" if expected is SENS_COLUMNS else "debit_credit"
        missing = [c for c in expected if c not in index]
        for name in missing:
            report.error(1, name, "E_HEADER_MISSING", f"The column {name} is missing from the header")
        if missing or report.error_count:
            return None
        if [index[c] for c in expected] != sorted(index[c] for c in expected):
            report.warning(1, None, "W_HEADER_ORDER", "The columns are not in the order of art. A.47 A-1")
        return sep, index, len(names)

    # -- lines -----------------------------------------------------------------------------------

    def _lines(self, lines: Iterator[bytes], columns: tuple[str, dict[str, int], int]) -> None:
        sep, ix, width = columns
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
        required = [(ix[c], c) for c in REQUIRED_TEXT]
        period_start, period_end = self.period.start, self.period.end
        dates = self._dates
        accounts = self._accounts
        sink = self.sink
        blank_lines: list[int] = []
        number = 1
        current_num: str | None = None
        current: _Entry | None = None
        for raw in lines:
            number += 1
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            if not raw.strip():
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
            if count != width:
                if count > width and not "".join(fields[width:]).strip() and self._aligned(fields, i_date, i_a):
                    report.quirk(number, None, "W_TRAILING_SEPARATOR", "Lines end with an extra separator; ignored")
                else:
                    report.error(
                        number,
                        None,
                        "E_FIELD_COUNT",
                        f"{count} fields where the header has {width} (a separator inside a text field?)",
                    )
                    continue
            fields = [f.strip() for f in fields]
            stats.lines += 1
            for position, name in required:
                if not fields[position]:
                    report.error(number, name, "E_REQUIRED", f"{name} is mandatory and empty")
            # Dates
            entry_date_text = fields[i_date]
            entry_date = self._date(number, "EcritureDate", entry_date_text, required=True)
            if entry_date is not None:
                if entry_date < period_start or entry_date > period_end:
                    report.error(
                        number,
                        "EcritureDate",
                        "E_DATE_OUTSIDE_PERIOD",
                        f"{entry_date.isoformat()} is outside the fiscal period "
                        f"{period_start.isoformat()} – {period_end.isoformat()}",
                    )
                if stats.first_date is None or entry_date < stats.first_date:
                    stats.first_date = entry_date
                if stats.last_date is None or entry_date > stats.last_date:
                    stats.last_date = entry_date
            piece_date_text = fields[i_piece_date]
            if piece_date_text not in dates or dates[piece_date_text] is None:
                self._date(number, "PieceDate", piece_date_text, required=True)
            valid_text = fields[i_valid]
            valid = dates.get(valid_text) if valid_text in dates else None
            if valid is None:
                valid = self._date(number, "ValidDate", valid_text, required=True)
            if valid is not None and entry_date is not None and valid < entry_date:
                report.quirk(number, "ValidDate", "W_VALID_BEFORE_ENTRY", "ValidDate is before EcritureDate")
            lettering, lettering_date = fields[i_let], fields[i_date_let]
            if lettering_date and lettering_date.strip("0"):
                self._date(number, "DateLet", lettering_date, required=False)
            if bool(lettering) != bool(lettering_date and lettering_date.strip("0")):
                report.quirk(number, "DateLet", "W_LETTERING_PAIR", "EcritureLet and DateLet go together")
            # Account
            account = fields[i_account]
            if account and account not in accounts:
                if _ACCOUNT.match(account):
                    accounts.add(account)
                else:
                    report.error(
                        number,
                        "CompteNum",
                        "E_ACCOUNT_FORMAT",
                        f"{account[:40]!r}: an account number starts with three digits, of a class 1 to 8",
                    )
                    account = ""
            aux, aux_label = fields[i_aux], fields[i_aux_lib]
            if bool(aux) != bool(aux_label):
                report.quirk(number, "CompAuxLib", "W_AUX_PAIR", "CompAuxNum and CompAuxLib go together")
            # Currency
            currency_amount, currency = fields[i_cur_amount], fields[i_currency]
            if currency_amount and parse_cents(currency_amount)[0] is None:
                report.error(number, "Montantdevise", "E_AMOUNT_FORMAT", f"{currency_amount[:30]!r} is not an amount")
            if bool(currency) != bool(currency_amount and currency_amount.strip("0,.+-")):
                report.quirk(number, "Idevise", "W_CURRENCY_PAIR", "Montantdevise and Idevise go together")
            # Amounts
            debit = credit = 0
            amounts_ok = True
            first = self._amount(number, a_name, fields[i_a])
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
                second = self._amount(number, b_name, fields[i_b])
                debit, credit = first or 0, second or 0
                amounts_ok = second is not None
            if debit and credit:
                report.quirk(number, None, "W_DEBIT_AND_CREDIT", "Both debit and credit are filled on one line")
            elif not debit and not credit and amounts_ok and first is not None:
                report.quirk(number, None, "W_ZERO_AMOUNT", "A line with a zero amount")
            if debit < 0 or credit < 0:
                report.quirk(number, None, "W_NEGATIVE_AMOUNT", "A negative amount")
            stats.debit_cents += debit
            stats.credit_cents += credit
            # Entries
            num = fields[i_num]
            journal = fields[i_journal]
            if num and self._tracking:
                if num != current_num:
                    if current is not None and current_num is not None:
                        self._leave(current_num, current)
                    current = self._open.get(num)
                    if current is None:
                        current = _Entry(number, journal, entry_date_text, fields[i_piece])
                        self._open[num] = current
                        self._new_entry(number, num, journal)
                        if len(self._open) > self.max_open_entries:
                            report.error(
                                number,
                                "EcritureNum",
                                "E_TOO_MANY_OPEN_ENTRIES",
                                f"More than {self.max_open_entries} unbalanced entries are open at once: "
                                "sort the file by EcritureNum",
                            )
                            self._tracking = False
                            self._open.clear()
                            current = None
                    else:
                        report.quirk(
                            number, "EcritureNum", "W_NON_CONTIGUOUS_ENTRY", "The lines of an entry are not contiguous"
                        )
                    current_num = num if self._tracking else None
                if current is not None:
                    if journal != current.journal and "journal" not in current.flagged:
                        current.flagged.add("journal")
                        report.error(
                            number, "JournalCode", "E_ENTRY_JOURNALS", f"Entry {num[:40]} spans several journals"
                        )
                    if entry_date_text != current.date and "date" not in current.flagged:
                        current.flagged.add("date")
                        report.error(
                            number, "EcritureDate", "E_ENTRY_DATES", f"Entry {num[:40]} has several posting dates"
                        )
                    if fields[i_piece] != current.piece and "piece" not in current.flagged:
                        current.flagged.add("piece")
                        report.quirk(number, "PieceRef", "W_ENTRY_PIECES", "An entry has several PieceRef")
                    current.debit += debit
                    current.credit += credit
            if sink is not None and account:
                sink.add(
                    number,
                    journal,
                    account,
                    fields[i_account_lib],
                    aux_label,
                    fields[i_label],
                    debit,
                    credit,
                    self._is_opening(journal, fields[i_journal_lib]),
                )
        if blank_lines:
            report.quirk(blank_lines[0], None, "W_TRAILING_EMPTY_LINES", "Empty lines at the end of the file")
        if current is not None and current_num is not None:
            self._leave(current_num, current)
        for num, entry in sorted(self._open.items(), key=lambda item: item[1].first_line):
            report.error(
                entry.first_line,
                "EcritureNum",
                "E_UNBALANCED_ENTRY",
                f"Entry {num[:40]} is not balanced: debit {_money(entry.debit)}, credit {_money(entry.credit)}",
            )
        self._open.clear()
        if stats.lines == 0:
            report.error(2, None, "E_NO_ENTRIES", "The file has a header but no entry")
        if abs(stats.debit_cents) + abs(stats.credit_cents) > MAX_TOTAL_CENTS:
            report.error(0, None, "E_TOTAL_RANGE", "The totals exceed what the platform records (10^12 €)")

    def _aligned(self, fields: list[str], i_date: int, i_amount: int) -> bool:
        """A line with extra empty fields at its end: a trailing separator, unless the header
        had none and the fields do not fall in place (a separator inside a text field)."""
        if self._header_trailing:
            return True
        date_text, amount = fields[i_date].strip(), fields[i_amount].strip()
        return len(date_text) == 8 and date_text.isdigit() and (not amount or parse_cents(amount)[0] is not None)

    def _leave(self, num: str, entry: _Entry) -> None:
        if entry.debit == entry.credit:
            del self._open[num]

    def _new_entry(self, line: int, num: str, journal: str) -> None:
        self.stats.entries += 1
        match = _TRAILING_NUMBER.search(num)
        if match is None:
            return
        value = int(match.group(1))
        last_global = self._last_global
        last_journal = self._last_by_journal.get(journal)
        if last_global is not None and value != last_global + 1 and (last_journal is None or value != last_journal + 1):
            if last_journal is not None and value <= last_journal:
                self.report.quirk(
                    line, "EcritureNum", "W_NUMBERING_ORDER", "Entry numbers go backwards within a journal"
                )
            elif last_journal is not None:
                self.report.quirk(line, "EcritureNum", "W_NUMBERING_GAP", "A gap in the entry numbering")
        self._last_global = value
        self._last_by_journal[journal] = value

    def _date(self, line: int, column: str, text: str, *, required: bool) -> date | None:
        if text in self._dates:
            parsed = self._dates[text]
            if parsed is None:
                self._date_problem(line, column, text)
            return parsed
        if not text:
            if required:
                self.report.error(line, column, "E_REQUIRED", f"{column} is mandatory and empty")
            return None
        parsed = None
        if len(text) == 8 and text.isdigit():
            try:
                parsed = date(int(text[:4]), int(text[4:6]), int(text[6:]))
            except ValueError:
                parsed = None
        self._dates[text] = parsed
        if parsed is None:
            self._date_problem(line, column, text)
        return parsed

    def _date_problem(self, line: int, column: str, text: str) -> None:
        if len(text) == 8 and text.isdigit():
            self.report.error(line, column, "E_DATE_INVALID", f"{text} is not a calendar date")
        else:
            self.report.error(line, column, "E_DATE_FORMAT", f"{text[:20]!r} is not a date AAAAMMJJ")

    def _amount(self, line: int, column: str, text: str) -> int | None:
        known = self._amounts.get(text)
        if known is not None:
            return known
        if not text:
            self.report.quirk(line, column, "W_EMPTY_AMOUNT", "An empty amount, read as 0")
            return 0
        cents, point = parse_cents(text)
        if cents is None:
            self.report.error(
                line,
                column,
                "E_AMOUNT_FORMAT",
                f"{text[:30]!r} is not an amount (decimal comma, no thousands separator, at most two decimals)",
            )
            return None
        if point:
            self.report.quirk(line, column, "W_DECIMAL_POINT", "A decimal point where the format wants a comma")
        elif len(self._amounts) < 10_000:
            self._amounts[text] = cents  # frequent amounts ("0,00") parse once
        return cents

    def _is_opening(self, journal: str, journal_label: str) -> bool:
        key = (journal, journal_label)
        known = self._opening.get(key)
        if known is None:
            label = fold(journal_label)
            known = journal.upper() in OPENING_JOURNALS or any(w in label for w in OPENING_WORDS)
            self._opening[key] = known
        return known


def validate_fec(stream: IO[bytes], period: Period, *, sink: LineSink | None = None, max_listed: int = 1000) -> Report:
    """Validate a FEC read from a binary stream; returns the report (see :class:`Report`)."""
    return FecValidator(period, sink=sink, max_listed=max_listed).run(stream)
