"""The mapping from account numbers to summary categories: a data table, not code.

``data/chart_anc_2018.csv`` holds one row per rule: ``prefix`` (account number prefix),
``keywords`` (optional, ``;``-separated words or phrases looked for in the account label, the
auxiliary account label and the entry label; see :class:`~cpts_documents.domain.text.KeywordSet`),
``side`` (``debit`` or ``credit``: the side on which the category's amount is positive),
``category``, ``group``, ``account_decides`` and a French label. ``data/chart_anc_2025.csv``
holds the rows that the 2025 revision of the chart (ANC 2022-06, fiscal years from 2025)
changes: each of its prefixes replaces every 2018 row of the same prefix (741 operating
subsidies and 742 balancing subsidies no longer name a funder, 747 is the share of investment
subsidies released, 652/757 disposals, 672/772 prior years).

Matching: the plain rule (no keywords) with the longest prefix gives the category. Keyword rules
refine it when one of their words is in the labels, longest prefix first, then the earlier row;
but when the plain rule's account names the funder (``account_decides``: 741-747 in the 2018
numbering, 747 and 757 in 2025), only keyword rules of that account or longer apply: "La
Roche-sur-Yon Agglomération" on 744 is the town, whatever the labels say, and the ARS on 741 (an
agency of the State) refines the State. Every class 1 to 8 has a one-digit row, so every
well-formed account is mapped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib.resources import files

from cpts_documents.domain.text import KeywordSet, Words


@dataclass(frozen=True)
class ChartRule:
    order: int
    prefix: str
    keywords: KeywordSet | None
    side: str
    category: str
    group: str
    label_fr: str
    account_decides: bool = False


def read_data(name: str) -> list[dict[str, str]]:
    text = (files("cpts_documents.domain") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def revised(rows: list[dict[str, str]], revision: list[dict[str, str]]) -> list[dict[str, str]]:
    """``rows`` where every prefix of ``revision`` is replaced by the revision's rows."""
    replaced = {r["prefix"].strip() for r in revision}
    return [r for r in rows if r["prefix"].strip() not in replaced] + revision


class Chart:
    def __init__(self, rows: list[dict[str, str]], name: str = "anc_2018") -> None:
        self.name = name
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
                    (row.get("account_decides") or "").strip() == "yes",
                )
            )
        self._plain: dict[str, ChartRule] = {}
        self._keyworded: dict[str, list[ChartRule]] = {}
        for rule in self.rules:
            if rule.keywords is None:
                self._plain.setdefault(rule.prefix, rule)
            else:
                self._keyworded.setdefault(rule.prefix, []).append(rule)
        self.known: dict[str, tuple[ChartRule | None, tuple[ChartRule, ...]]] = {}

    def candidates(self, account: str) -> tuple[ChartRule | None, tuple[ChartRule, ...]]:
        """The plain rule with the longest prefix, and the keyword rules that may refine it
        (longest prefix first)."""
        known = self.known.get(account)
        if known is None:
            plain: ChartRule | None = None
            keyworded: list[ChartRule] = []
            for length in range(len(account), 0, -1):
                prefix = account[:length]
                if plain is None:
                    plain = self._plain.get(prefix)
                elif plain.account_decides:
                    break  # shorter prefixes' keywords may not contradict the account
                keyworded += self._keyworded.get(prefix, ())
            known = (plain, tuple(keyworded))
            if len(self.known) >= 20_000:  # bounded, whatever the number of accounts (about 4 MB)
                self.known.clear()
            self.known[account] = known
        return known

    def needs_labels(self, account: str) -> bool:
        return bool(self.candidates(account)[1])

    def classify(self, account: str, folded_labels: str | Words = "") -> ChartRule | None:
        plain, keyworded = self.candidates(account)
        if folded_labels and keyworded:
            words = folded_labels if isinstance(folded_labels, Words) else Words(folded_labels)
            for rule in keyworded:
                if rule.keywords is not None and rule.keywords.found_in(words):
                    return rule
        return plain

    def categories(self, side: str | None = None) -> list[str]:
        return sorted({r.category for r in self.rules if side is None or r.side == side})


@lru_cache(maxsize=1)
def default_chart() -> Chart:
    """The ANC 2018-06 chart (fiscal years before 2025)."""
    return Chart(read_data("chart_anc_2018.csv"))


@lru_cache(maxsize=1)
def chart_2025() -> Chart:
    """The chart as revised for fiscal years opened from 1 January 2025."""
    return Chart(revised(read_data("chart_anc_2018.csv"), read_data("chart_anc_2025.csv")), "anc_2025")


REVISION_2025 = date(2025, 1, 1)


def chart_for(period_start: date) -> Chart:
    """The numbering in force for a fiscal year starting on ``period_start``."""
    return chart_2025() if period_start >= REVISION_2025 else default_chart()
