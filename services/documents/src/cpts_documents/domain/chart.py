"""The mapping from account numbers to summary categories: a data table, not code.

``data/chart_anc_2018.csv`` holds one row per rule: ``prefix`` (account number prefix),
``keywords`` (optional, ``;``-separated words or phrases looked for in the account label, the
auxiliary account label and the entry label), ``side`` (``debit`` or ``credit``: the side on
which the category's amount is positive), ``category``, ``group`` and a French label.

Matching: the rules whose prefix starts the account number are candidates. A rule with keywords
applies only when one of them is in the labels, and then wins over every rule without keywords
(the labels name the funder more surely than sub-account habits do); otherwise, and among
rules of the same kind, the longest prefix wins, and at equal length the earlier row. Every
class 1 to 8 has a one-digit row, so every well-formed account is mapped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from cpts_documents.domain.text import KeywordSet


@dataclass(frozen=True)
class ChartRule:
    order: int
    prefix: str
    keywords: KeywordSet | None
    side: str
    category: str
    group: str
    label_fr: str


def read_data(name: str) -> list[dict[str, str]]:
    text = (files("cpts_documents.domain") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


class Chart:
    def __init__(self, rows: list[dict[str, str]]) -> None:
        self.rules: list[ChartRule] = []
        for order, row in enumerate(rows):
            prefix = row["prefix"].strip()
            if not prefix.isdigit():
                raise ValueError(f"chart row {order + 2}: prefix {prefix!r} is not digits")
            if row["side"] not in ("debit", "credit"):
                raise ValueError(f"chart row {order + 2}: side must be debit or credit")
            words = [k for k in row.get("keywords", "").split(";") if k.strip()]
            self.rules.append(
                ChartRule(
                    order,
                    prefix,
                    KeywordSet(words) if words else None,
                    row["side"],
                    row["category"].strip(),
                    row["group"].strip(),
                    row["label_fr"].strip(),
                )
            )
        self._plain: dict[str, ChartRule] = {}
        self._keyworded: dict[str, list[ChartRule]] = {}
        for rule in self.rules:
            if rule.keywords is None:
                self._plain.setdefault(rule.prefix, rule)
            else:
                self._keyworded.setdefault(rule.prefix, []).append(rule)
        self._cache: dict[str, tuple[ChartRule | None, tuple[ChartRule, ...]]] = {}

    def candidates(self, account: str) -> tuple[ChartRule | None, tuple[ChartRule, ...]]:
        """The plain rule with the longest prefix, and the keyword rules (longest prefix first)."""
        known = self._cache.get(account)
        if known is None:
            plain: ChartRule | None = None
            keyworded: list[ChartRule] = []
            for length in range(len(account), 0, -1):
                prefix = account[:length]
                if plain is None:
                    plain = self._plain.get(prefix)
                keyworded += self._keyworded.get(prefix, ())
            known = (plain, tuple(keyworded))
            if len(self._cache) < 100_000:
                self._cache[account] = known
        return known

    def needs_labels(self, account: str) -> bool:
        return bool(self.candidates(account)[1])

    def classify(self, account: str, folded_labels: str = "") -> ChartRule | None:
        plain, keyworded = self.candidates(account)
        if folded_labels:
            for rule in keyworded:
                if rule.keywords is not None and rule.keywords.found(folded_labels):
                    return rule
        return plain

    def categories(self, side: str | None = None) -> list[str]:
        return sorted({r.category for r in self.rules if side is None or r.side == side})


@lru_cache(maxsize=1)
def default_chart() -> Chart:
    return Chart(read_data("chart_anc_2018.csv"))
