"""When the ACI envelope of a fiscal year is paid (reference/aci_cpts.md §0 and §4):

- in the signature year, the functioning credits are paid in full at the signature; each
  mission's fixed part (with the SNP compensation) 75 % at the signature (missions are taken to
  start then), the balance at the first contract anniversary;
- in the following years, functioning credits and fixed parts are paid 75 % in advance at
  the contract anniversary in the year, the balance at the next anniversary;
- the variable part earned is paid after the year-end assessment of the indicators (the
  dialogue de gestion), at the next anniversary;
- the crisis mission's first year (the crisis plan is drawn up: no indicator, an amount set
  in full by avenant 2) is paid in full at the mission's start, with no balance;
- the start-up top-up of a CPTS signed before the start-up amounts is paid in full at the
  start of the contract year that owes it (not before the version's effective date).

The advance share is a parameter of the ACI version (0.75 by default). An advance and its
balance always add up to the amount (the advance is rounded to the cent, the balance is the
rest).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from cpts_funding.domain.amounts import split_share
from cpts_funding.domain.eligibility import contract_anniversary
from cpts_funding.domain.envelope import Envelope
from cpts_funding.domain.missions import Part
from cpts_kit.missions import Mission


class Instalment(StrEnum):
    FULL = "full"
    ADVANCE = "advance"
    BALANCE = "balance"
    AFTER_ASSESSMENT = "after_assessment"


@dataclass(frozen=True)
class Due:
    due_on: date
    mission: Mission
    part: Part
    instalment: Instalment
    amount: Decimal


def payment_schedule(
    envelope: Envelope, signed_on: date | None, mission_starts: Mapping[Mission, date] | None = None
) -> list[Due]:
    """The instalments of ``envelope`` (zero amounts left out), by date, functioning first. A
    mission of the contract that starts later than the signature (or the anniversary) has its
    fixed part's advance due at its start."""
    year = envelope.year
    if signed_on is None or signed_on.year > year or not envelope.eligible:
        return []
    share = envelope.parameters.advance_share
    first_year = signed_on.year == year
    start = signed_on if first_year else contract_anniversary(signed_on, year)
    next_anniversary = contract_anniversary(signed_on, year + 1)
    dues: list[Due] = []
    if first_year:
        dues.append(Due(start, Mission.FUNCTIONING, Part.NOT_APPLICABLE, Instalment.FULL, envelope.functioning))
    else:
        if envelope.startup_top_up:
            on = max(start, envelope.parameters.effective_from)  # not before the text that owes it
            dues.append(Due(on, Mission.FUNCTIONING, Part.NOT_APPLICABLE, Instalment.FULL, envelope.startup_top_up))
        advance, balance = split_share(envelope.functioning - envelope.startup_top_up, share)
        dues.append(Due(start, Mission.FUNCTIONING, Part.NOT_APPLICABLE, Instalment.ADVANCE, advance))
        dues.append(Due(next_anniversary, Mission.FUNCTIONING, Part.NOT_APPLICABLE, Instalment.BALANCE, balance))
    for line in envelope.lines:
        advance, balance = split_share(line.fixed + line.snp_compensation, share)
        starts_on = (mission_starts or {}).get(line.mission)
        due_on = starts_on if starts_on is not None and start < starts_on < next_anniversary else start
        if line.mission is Mission.CRISIS_RESPONSE and envelope.crisis_first_year:
            dues.append(Due(due_on, line.mission, Part.FIXED, Instalment.FULL, line.fixed + line.snp_compensation))
            dues.append(
                Due(next_anniversary, line.mission, Part.VARIABLE, Instalment.AFTER_ASSESSMENT, line.variable_earned)
            )
            continue
        dues.append(Due(due_on, line.mission, Part.FIXED, Instalment.ADVANCE, advance))
        dues.append(Due(next_anniversary, line.mission, Part.FIXED, Instalment.BALANCE, balance))
        dues.append(
            Due(next_anniversary, line.mission, Part.VARIABLE, Instalment.AFTER_ASSESSMENT, line.variable_earned)
        )
    order = list(Mission)
    return sorted(
        (d for d in dues if d.amount != 0),
        key=lambda d: (d.due_on, d.mission is not Mission.FUNCTIONING, order.index(d.mission), d.part.value),
    )


def due_by(dues: list[Due], on: date) -> Decimal:
    return sum((d.amount for d in dues if d.due_on <= on), Decimal("0.00"))
