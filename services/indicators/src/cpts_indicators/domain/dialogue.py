"""The dialogue de gestion: the annual tripartite meeting (CPTS, ARS, CPAM) at the contract
anniversary (reference/aci_cpts.md §4).

- The anniversary of a contract signed on ``signed_on`` falls in each following year on the
  same day (29 February on 28 February); the signature year has none.
- The variable part is assessed after the year's end (reference/aci_cpts.md §0, §4): the
  dialogue on year Y is due at the first anniversary after Y ends, the one in Y + 1, for
  every CPTS signed by the end of Y. It is missing once that day has passed and no dialogue on
  Y was held.
- Its participants include the three parties; the ARS and the CPAM each validate it, and the
  validation by both freezes the year's achievement (targets and measurements of the year can
  no longer change; the achievement is kept as validated).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum


class Party(StrEnum):
    CPTS = "cpts"
    ARS = "ars"
    CPAM = "cpam"
    OTHER = "other"


REQUIRED_PARTIES = frozenset({Party.CPTS, Party.ARS, Party.CPAM})


def anniversary(signed_on: date, year: int) -> date | None:
    """The contract's anniversary in ``year``; None in or before the signature year."""
    if year <= signed_on.year:
        return None
    try:
        return signed_on.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def dialogue_due(signed_on: date, year: int) -> date | None:
    """When the dialogue on ``year`` is due (None for a contract signed after that year)."""
    return anniversary(signed_on, year + 1)


def dialogue_missing(signed_on: date | None, year: int, held: bool, as_of: date) -> bool:
    if signed_on is None or held:
        return False
    due = dialogue_due(signed_on, year)
    return due is not None and due <= as_of
