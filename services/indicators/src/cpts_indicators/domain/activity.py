"""The "empty shell" signals of a CPTS and year, for the audit (Senate report r25-032: the
evidence behind the variable part is often thin):

- missions funded (a fixed part or a variable maximum in the ACI envelope) with no
  measurement recorded in the year (the crisis mission, all fixed and without indicators,
  is never counted as unmeasured);
- the share of the year's measurements backed by a declaration only;
- a dialogue de gestion missing: the anniversary after the year's end has passed and no
  dialogue on the year was held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from cpts_indicators.domain.achievement import declarative_share
from cpts_indicators.domain.catalogue import VARIABLE_MISSIONS, Evidence
from cpts_indicators.domain.dialogue import dialogue_missing
from cpts_kit.missions import Mission


@dataclass(frozen=True)
class Signals:
    missions_funded: list[Mission]
    missions_funded_without_measurement: list[Mission]
    measurements_count: int
    declarative_share: Decimal | None
    dialogue_held: bool
    dialogue_missing: bool


def assess(
    *,
    funded: set[Mission],
    measured: dict[Mission, list[Evidence]],
    signed_on: date | None,
    year: int,
    dialogue_held: bool,
    as_of: date,
) -> Signals:
    order = list(Mission)
    funded_sorted = sorted(funded, key=order.index)
    unmeasured = [m for m in funded_sorted if m in VARIABLE_MISSIONS and not measured.get(m)]
    strengths = [s for values in measured.values() for s in values]
    return Signals(
        missions_funded=funded_sorted,
        missions_funded_without_measurement=unmeasured,
        measurements_count=len(strengths),
        declarative_share=declarative_share(strengths),
        dialogue_held=dialogue_held,
        dialogue_missing=dialogue_missing(signed_on, year, dialogue_held, as_of),
    )
