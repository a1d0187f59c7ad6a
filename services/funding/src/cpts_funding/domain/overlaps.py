"""FIR and ACI kept apart (Senate proposal P1): a mission-year of a CPTS financed both by the
Assurance maladie (ACI) and by the ARS (FIR) is reported."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from cpts_funding.domain.categories import FunderCategory


@dataclass(frozen=True)
class Financed:
    """Net money of one category on one mission-year of a CPTS (allocated or paid)."""

    cpts_id: str
    year: int
    mission: str
    category: FunderCategory
    allocated: Decimal
    paid: Decimal


@dataclass(frozen=True)
class Overlap:
    cpts_id: str
    year: int
    mission: str
    aci_allocated: Decimal
    aci_paid: Decimal
    fir_allocated: Decimal
    fir_paid: Decimal


def aci_fir_overlaps(rows: Iterable[Financed]) -> list[Overlap]:
    """Mission-years with positive ACI money and positive FIR money (allocated or paid)."""
    by_key: dict[tuple[str, int, str], dict[FunderCategory, Financed]] = {}
    for row in rows:
        if row.category in (FunderCategory.ACI, FunderCategory.FIR):
            by_key.setdefault((row.cpts_id, row.year, row.mission), {})[row.category] = row
    overlaps = []
    for (cpts_id, year, mission), found in sorted(by_key.items()):
        aci, fir = found.get(FunderCategory.ACI), found.get(FunderCategory.FIR)
        if aci is None or fir is None:
            continue
        if max(aci.allocated, aci.paid) > 0 and max(fir.allocated, fir.paid) > 0:
            overlaps.append(Overlap(cpts_id, year, mission, aci.allocated, aci.paid, fir.allocated, fir.paid))
    return overlaps
