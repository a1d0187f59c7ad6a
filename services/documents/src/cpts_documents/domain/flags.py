"""Entries worth a human look, from data tables (``data/flag_*.csv``, ``data/profession_keywords.csv``).

- ``flag_keywords.csv``: a reason, the account prefixes it looks at (``6``, ``6;7``, ``26;27``),
  those it never looks at (``64``: staff costs, where meal vouchers are not restaurants and
  pensions are not retreats) and its keywords, found as whole words (plurals included) in the
  auxiliary account label and the entry label, never in the account label alone (an account
  named "Cotisations retraite" says nothing about one payment). Leisure and culture, receptions
  and gifts, seminars and travel, health-industry counterparties, real estate held through SCI
  or SCPI shares.
- ``flag_accounts.csv``: accounts that are a reason by themselves (6257 réceptions, 6234
  cadeaux, 6713 libéralités; 211-214 and 231: real estate, when bought during the year).
- The CPTS's board (from the registry's governance events): an expense naming a board member
  (a place such as "Saint-Martin" or "rue Martin" is not a person), and an expense of at least
  ``large_payment_threshold`` whose labels name a profession that sits on the board
  (``profession_keywords.csv``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from cpts_documents.domain.chart import read_data
from cpts_documents.domain.text import KeywordSet, Words, fold

# "saint martin", "rue martin": a place named after someone, not that person.
_PLACE = re.compile(
    r"(?<![a-z0-9])(?:saint|sainte|st|ste|rue|avenue|av|boulevard|bd|place|quai|allee|chemin|impasse|route|square)"
    r" (?:de |du |des |la |le )?[a-z0-9]+"
)


@dataclass(frozen=True)
class BoardMember:
    name: str
    profession: str


@dataclass(frozen=True)
class FlagContext:
    board: tuple[BoardMember, ...] = ()
    large_payment_threshold: Decimal = Decimal("3000.00")


@dataclass(frozen=True)
class KeywordRule:
    reason: str
    prefixes: tuple[str, ...]
    excluded: tuple[str, ...]
    keywords: KeywordSet

    def looks_at(self, account: str) -> bool:
        return account.startswith(self.prefixes) and not (self.excluded and account.startswith(self.excluded))


def _prefixes(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(";") if p.strip())


@dataclass
class FlagRules:
    keyword_rules: list[KeywordRule]
    accounts: dict[str, str]
    professions: dict[str, KeywordSet] = field(default_factory=dict)
    _by_account: dict[str, str | None] = field(default_factory=dict)

    def account_reason(self, account: str) -> str | None:
        if account in self._by_account:
            return self._by_account[account]
        found = None
        for length in range(len(account), 0, -1):
            found = self.accounts.get(account[:length])
            if found is not None:
                break
        if len(self._by_account) >= 100_000:  # bounded whatever the number of accounts
            self._by_account.clear()
        self._by_account[account] = found
        return found

    def keyword_reasons(self, account: str, labels: Words) -> list[tuple[str, list[str]]]:
        """The reasons whose keywords are in the (prepared) labels, with the words found."""
        out = []
        for rule in self.keyword_rules:
            if rule.looks_at(account) and (hits := rule.keywords.found_in(labels)):
                out.append((rule.reason, hits))
        return out


@lru_cache(maxsize=1)
def default_rules() -> FlagRules:
    keyword_rules = [
        KeywordRule(
            row["reason"],
            _prefixes(row["prefixes"]),
            _prefixes(row.get("exclude_prefixes") or ""),
            KeywordSet([k for k in row["keywords"].split(";") if k.strip()]),
        )
        for row in read_data("flag_keywords.csv")
    ]
    accounts = {row["prefix"]: row["reason"] for row in read_data("flag_accounts.csv")}
    professions = {
        row["profession"]: KeywordSet([k for k in row["keywords"].split(";") if k.strip()])
        for row in read_data("profession_keywords.csv")
    }
    return FlagRules(keyword_rules, accounts, professions)


def without_places(folded: str) -> str:
    """The folded labels without place names built on a name ("saint martin", "rue martin")."""
    return _PLACE.sub(" ", folded) if folded else folded


class BoardMatcher:
    """Board members' surnames, and the keywords of the professions sitting on the board."""

    def __init__(self, context: FlagContext, rules: FlagRules) -> None:
        surnames = []
        for member in context.board:
            words = fold(member.name).split()
            if words and len(words[-1]) >= 3:
                surnames.append(words[-1])
        self.surnames = KeywordSet(surnames)
        keywords: list[str] = []
        for member in context.board:
            found = rules.professions.get(member.profession)
            if found is not None:
                keywords += sorted(found.words) + list(found.phrases)
        self.professions = KeywordSet(keywords)
        self.threshold_cents = int(context.large_payment_threshold * 100)

    def members(self, folded_labels: str) -> list[str]:
        if not self.surnames:
            return []
        return self.surnames.found(without_places(folded_labels))
