"""A CPTS's registry status over time, as the funding service projects it from the registry's
events: the status at a date, the days of a year under the ACI, and maturity.

Assurance maladie money goes only to ACI signatories (Senate proposal P1): an ACI allocation
or payment is accepted only if the CPTS's status is ``aci_signed`` at the flow's date.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

ACI_SIGNED = "aci_signed"


@dataclass(frozen=True)
class StatusPeriod:
    """From ``since`` on (until the next entry), the CPTS had ``status``."""

    status: str
    since: date


def status_at(history: Sequence[StatusPeriod], on: date) -> str | None:
    """The status in force on ``on``: the last entry (in recorded order) dated on or before it."""
    current: str | None = None
    best: date | None = None
    for period in history:
        if period.since <= on and (best is None or period.since >= best):
            current, best = period.status, period.since
    return current


def days_in_year(year: int) -> int:
    return 366 if calendar.isleap(year) else 365


def contract_year(signed_on: date | None, year: int) -> tuple[date, date]:
    """The first and last days of the contract year that starts in ``year``: from the signature
    (signature year) or its anniversary, to the day before the next anniversary. The ACI pays by
    contract year; before the signature (or without one) the calendar year stands in."""
    if signed_on is None or signed_on.year > year:
        return date(year, 1, 1), date(year, 12, 31)
    start = signed_on if signed_on.year == year else contract_anniversary(signed_on, year)
    return start, contract_anniversary(signed_on, year + 1) - timedelta(days=1)


def aci_days(
    history: Sequence[StatusPeriod], year: int, since: date | None = None, signed_on: date | None = None
) -> int:
    """How many days of the contract year starting in ``year`` (see ``contract_year``; from
    ``since`` on, when given) the CPTS spent with the status ``aci_signed``."""
    start, end = contract_year(signed_on, year)
    if since is not None and since > start:
        if since > end:
            return 0
        start = since
    # The status changes only at the entries' dates: walk the year's segments between them.
    cuts = sorted({start} | {p.since for p in history if start < p.since <= end})
    total = 0
    for index, segment_start in enumerate(cuts):
        segment_end = cuts[index + 1] - timedelta(days=1) if index + 1 < len(cuts) else end
        if status_at(history, segment_start) == ACI_SIGNED:
            total += (segment_end - segment_start).days + 1
    return total


def maturity(first_signed: date | None, year: int) -> int:
    """Years since the ACI signature: 0 in the signature year, 1 the year after..."""
    if first_signed is None or first_signed.year > year:
        return 0
    return year - first_signed.year


def contract_anniversary(signed_on: date, year: int) -> date:
    """The contract's anniversary in ``year`` (29 February falls on 28 February)."""
    try:
        return signed_on.replace(year=year)
    except ValueError:
        return date(year, 2, 28)
