"""Entries worth a human look, from data tables (``data/flag_*.csv``, ``data/profession_keywords.csv``).

- ``flag_keywords.csv``: a reason, the account classes it looks at (``6``, ``67``...) and its
  keywords, found as whole words in the account, auxiliary and entry labels (folded: no case,
  no accents). Leisure and culture (yoga, théâtre, spectacle, voyage...), receptions and gifts,
  seminars and travel, health-industry counterparties (laboratories and drug makers).
- ``flag_accounts.csv``: accounts that are a reason by themselves (6257 réceptions, 6234
  cadeaux, 6713 libéralités; 211-214 and 231: real estate, when bought during the year).
- The CPTS's board (from the registry's governance events): an expense naming a board member,
  and an expense of at least ``large_payment_threshold`` whose labels name a profession that
  sits on the board (``profession_keywords.csv``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from cpts_documents.domain.chart import read_data
from cpts_documents.domain.text import KeywordSet, fold


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
    classes: frozenset[str]
    keywords: KeywordSet


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
        if len(self._by_account) < 100_000:
            self._by_account[account] = found
        return found


@lru_cache(maxsize=1)
def default_rules() -> FlagRules:
    keyword_rules = [
        KeywordRule(
            row["reason"],
            frozenset(row["classes"].strip()),
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
