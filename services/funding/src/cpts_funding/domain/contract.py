"""The ACI contract of a CPTS: the missions it takes on and when each starts
(reference/aci_cpts.md §4): after the signature, access to care and the crisis mission start
within 6 months, care pathways and prevention within 12; quality and relevance and support to
professionals are optional, at the CPTS's choice. Envelopes fund each mission from its start.

The crisis mission is compulsory since avenant 2 (JO of 31 March 2022); a contract signed
before it adds it within 6 months of the avenant, so it is accepted without being required.
Without a recorded contract, every mission of the parameter version is taken to start at the
signature (the earlier behaviour).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from cpts_funding.domain.eligibility import contract_anniversary
from cpts_kit.missions import CONVENTIONAL, Mission

START_WITHIN_MONTHS: dict[Mission, int] = {
    Mission.ACCESS_TO_CARE: 6,
    Mission.CRISIS_RESPONSE: 6,
    Mission.CARE_PATHWAYS: 12,
    Mission.PREVENTION: 12,
}
AVENANT_2 = date(2022, 3, 31)  # the crisis mission's text, published in the Journal officiel
REQUIRED = (Mission.ACCESS_TO_CARE, Mission.CARE_PATHWAYS, Mission.PREVENTION)
OPTIONAL = (Mission.QUALITY_RELEVANCE, Mission.PROFESSIONAL_SUPPORT)


def months_after(start: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise ValueError(start)  # pragma: no cover - day 28 always exists


def start_deadline(mission: Mission, signed_on: date) -> date | None:
    months = START_WITHIN_MONTHS.get(mission)
    if months is None:
        return None
    since = max(signed_on, AVENANT_2) if mission is Mission.CRISIS_RESPONSE else signed_on
    return months_after(since, months)


@dataclass(frozen=True)
class ContractMission:
    mission: Mission
    starts_on: date
    compulsory: bool
    start_deadline: date | None


@dataclass(frozen=True)
class ContractTerms:
    recorded: bool
    missions: tuple[ContractMission, ...]


def terms(signed_on: date | None, starts: Mapping[Mission, date]) -> ContractTerms:
    """The contract as recorded, or (nothing recorded) every mission from the signature."""
    recorded = bool(starts)
    if not recorded:
        if signed_on is None:
            return ContractTerms(False, ())
        starts = {m: signed_on for m in CONVENTIONAL}
    return ContractTerms(
        recorded,
        tuple(
            ContractMission(
                m,
                starts[m],
                m in START_WITHIN_MONTHS,
                start_deadline(m, signed_on) if signed_on is not None else None,
            )
            for m in CONVENTIONAL
            if m in starts
        ),
    )


def contract_problems(signed_on: date, starts: Mapping[Mission, date]) -> list[tuple[str, str]]:
    """(field, message) for each rule the missions break; empty when the contract is sound."""
    problems: list[tuple[str, str]] = []
    for mission in REQUIRED:
        if mission not in starts:
            problems.append((f"missions.{mission.value}", "a compulsory mission of the contract"))
    last_day = contract_anniversary(signed_on, signed_on.year + 5)
    for mission, starts_on in starts.items():
        if starts_on < signed_on:
            problems.append((f"missions.{mission.value}", "a mission starts on or after the signature"))
        deadline = start_deadline(mission, signed_on)
        if deadline is not None and starts_on > deadline:
            problems.append((f"missions.{mission.value}", f"starts by {deadline.isoformat()} at the latest"))
        if starts_on >= last_day:
            problems.append((f"missions.{mission.value}", "starts within the 5-year contract"))
    return problems
