"""Fungibility between missions within a national cap (Senate proposal P3): a CPTS asks to move
part of one mission's fixed envelope to another mission for a fiscal year; the request is
accepted or refused, always with the reason, and recorded either way."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from cpts_funding.domain.amounts import scaled
from cpts_funding.domain.envelope import Envelope
from cpts_funding.domain.levers import PolicyLevers
from cpts_kit.missions import Mission


class Reason(StrEnum):
    ACCEPTED = "within_cap"
    NOT_A_SIGNATORY = "not_a_signatory"
    CLOSED = "fungibility_closed"
    MISSION_NOT_IN_ENVELOPE = "mission_not_in_envelope"
    EXCEEDS_SOURCE = "exceeds_source_fixed_part"
    EXCEEDS_CPTS_CAP = "exceeds_cpts_cap"
    EXCEEDS_NATIONAL_CAP = "exceeds_national_cap"


@dataclass(frozen=True)
class Decision:
    accepted: bool
    code: Reason
    reason: str


def cpts_cap(envelope: Envelope, levers: PolicyLevers) -> Decimal:
    """What a CPTS may move in the year: the share of its whole mission envelope."""
    share = levers.fungibility_share or Decimal(0)
    return scaled(envelope.missions_maximum, share)


def decide(
    *,
    envelope: Envelope | None,
    levers: PolicyLevers,
    from_mission: Mission,
    to_mission: Mission,
    amount: Decimal,
    already_moved_by_cpts: Decimal,
    already_moved_nationally: Decimal,
) -> Decision:
    """``envelope`` is the CPTS's envelope with the moves accepted so far."""
    year = levers.year
    if envelope is None or not envelope.eligible:
        return _refuse(Reason.NOT_A_SIGNATORY, f"The CPTS has no ACI envelope for {year} (not aci_signed that year)")
    if not levers.fungibility_open:
        return _refuse(Reason.CLOSED, f"Fungibility between missions is not open for {year}")
    source, target = envelope.line(from_mission), envelope.line(to_mission)
    for mission, line in ((from_mission, source), (to_mission, target)):
        if line is None:
            return _refuse(
                Reason.MISSION_NOT_IN_ENVELOPE,
                f"The {year} envelope has no {mission.value} mission (parameters {envelope.parameters.version})",
            )
    assert source is not None
    if amount > source.fixed:
        return _refuse(
            Reason.EXCEEDS_SOURCE,
            f"{amount} is more than the fixed part left on {from_mission.value} ({source.fixed})",
        )
    cap = cpts_cap(envelope, levers)
    if already_moved_by_cpts + amount > cap:
        return _refuse(
            Reason.EXCEEDS_CPTS_CAP,
            f"{amount} would bring the CPTS's reallocations for {year} to {already_moved_by_cpts + amount}, "
            f"above its cap of {cap} ({levers.fungibility_share} of its mission envelope)",
        )
    national = levers.fungibility_national_cap
    if national is not None and already_moved_nationally + amount > national:
        return _refuse(
            Reason.EXCEEDS_NATIONAL_CAP,
            f"{amount} would bring the reallocations of {year} to {already_moved_nationally + amount} "
            f"nationally, above the national cap of {national}",
        )
    return Decision(
        True,
        Reason.ACCEPTED,
        f"Accepted: {already_moved_by_cpts + amount} moved for {year}, within the CPTS's cap of {cap}",
    )


def _refuse(code: Reason, reason: str) -> Decision:
    return Decision(False, code, reason)
