"""The fast path of the FEC checks: a block of ordinary lines, checked column by column.

Most lines of a FEC are ordinary: UTF-8, exactly the header's fields, no space to trim, dates
written AAAAMMJJ (EcritureDate inside the period; a ValidDate before it is a tolerated quirk),
amounts written ``1234,56`` on one side only (the other ``0,00`` or empty: a quirk), accounts of
classes 1 to 7 written with digits (not 12x: a closing entry needs the closer look), no
currency, a lettering only with its date and at most one per entry, an auxiliary account with
its label, and each entry's date, piece and journal the same on all its lines. On such lines no
check of the line-by-line pass fires (but those two quirks, reported here in the same order),
so a block of them only needs its columns: split once, checked with
operations that run in C (sets of distinct values, a whole column matched by one regular
expression). A block where any of this does not hold goes through the line-by-line pass, which
reports every issue with its line and column; both passes give the same report and summary
(tested on generated and mutated files).
"""

from __future__ import annotations

import re
from datetime import date
from itertools import repeat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cpts_documents.domain.fec import Period

# A bound for the distinct dates kept between blocks (a block adds at most its own).
DATE_LIMIT = 20_000
_PLAIN_AMOUNTS = re.compile(r"[0-9]+,[0-9]{2}(?:\n[0-9]+,[0-9]{2})*")
# What the line-by-line pass reads as an account without quirk, of classes 1 to 7, not 12x.
_PLAIN_ACCOUNT = re.compile(r"(?:1[013-9]|[2-7][0-9])[0-9][0-9A-Za-z]*")


def plain_amounts(column: list[str]) -> list[int] | None:
    """The amounts in cents if every one is written ``1234,56``, else ``None``."""
    joined = "\n".join(column)
    if _PLAIN_AMOUNTS.fullmatch(joined) is None:
        return None
    return list(map(int, joined.replace(",", "").split("\n")))


class ColumnChecks:
    """The positions of the columns, the period, and the dates and accounts already found plain."""

    def __init__(self, sep: str, ix: dict[str, int], width: int, period: Period) -> None:
        self.sep = sep
        self.width = width
        self.ix = ix
        # AAAAMMJJ texts compare as their dates do.
        self.first_day = period.start.strftime("%Y%m%d")
        self.last_day = period.end.strftime("%Y%m%d")
        self.dates: dict[str, date] = {}
        self.accounts: set[str] = set()

    def split(self, block: bytes, crlf: bool) -> list[list[str]] | None:
        """The block's columns, or ``None`` if a line is not plain text of exactly the header's
        fields with nothing to trim."""
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if crlf:
            text = text.replace("\r\n", "\n")
            if text.endswith("\r"):
                text = text[:-1]
        sep = self.sep
        if (
            not text
            or "\r" in text
            or "\u00a0" in text
            or text[0] == " "
            or text[-1] == " "
            or f"{sep} " in text
            or f" {sep}" in text
            or "\n " in text
            or " \n" in text
        ):
            return None
        lines = text.split("\n")
        if set(map(str.count, lines, repeat(sep))) != {self.width - 1}:
            return None
        fields = text.replace("\n", sep).split(sep)
        return [fields[k :: self.width] for k in range(self.width)]

    def plain_dates(self, *columns: list[str]) -> bool:
        """Every value is a calendar date written AAAAMMJJ (then in ``self.dates``)."""
        from cpts_documents.domain.fec import parse_date

        known = self.dates
        if len(known) > DATE_LIMIT:
            known.clear()
        for column in columns:
            for text in set(column).difference(known):
                if len(text) != 8:
                    return False
                day, quirk, _ = parse_date(text)
                if day is None or quirk is not None:
                    return False
                known[text] = day
        return True

    def plain_accounts(self, column: list[str]) -> bool:
        known = self.accounts
        if len(known) > DATE_LIMIT:
            known.clear()
        for text in set(column).difference(known):
            if _PLAIN_ACCOUNT.fullmatch(text) is None:
                return False
            known.add(text)
        return True
