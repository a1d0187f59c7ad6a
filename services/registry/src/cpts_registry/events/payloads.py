"""Payloads of the registry's CloudEvents. Each carries the CPTS id and its region and
département, so that consumers can scope what they project without calling the registry."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from cpts_kit.events import EventPayload
from cpts_registry.domain.lifecycle import Status
from cpts_registry.domain.professions import BoardRole, Profession
from cpts_registry.domain.tiers import SizeTier


class CptsSnapshot(EventPayload):
    cpts_id: str
    name: str
    siren: str
    siret: str | None
    finess: str | None
    legal_form: str
    region: str
    departement: str
    attachment_ars: str
    attachment_cpam: str
    status: Status
    status_since: date
    aci_signed_on: date | None
    population: int
    size_tier: SizeTier


class CptsRegistered(CptsSnapshot):
    """A CPTS entered the registry (with its territory)."""

    event_type: ClassVar[str] = "fr.cpts.registry.cpts.registered.v1"
    communes: list[str]


class CptsUpdated(CptsSnapshot):
    """Identity attributes changed (name, SIRET, FINESS, legal form, attachment CPAM)."""

    event_type: ClassVar[str] = "fr.cpts.registry.cpts.updated.v1"


class CptsStatusChanged(EventPayload):
    """A lifecycle transition, effective at ``effective_date``."""

    event_type: ClassVar[str] = "fr.cpts.registry.cpts.status_changed.v1"
    cpts_id: str
    region: str
    departement: str
    from_status: Status
    to_status: Status
    effective_date: date
    reason: str | None
    aci_signed_on: date | None


class TerritoryUpdated(EventPayload):
    event_type: ClassVar[str] = "fr.cpts.registry.territory.updated.v1"
    cpts_id: str
    region: str
    departement: str
    communes: list[str]
    population: int
    size_tier: SizeTier


class MembersReported(EventPayload):
    event_type: ClassVar[str] = "fr.cpts.registry.members.reported.v1"
    cpts_id: str
    region: str
    departement: str
    year: int
    counts: dict[Profession, int]
    total: int


class BoardMemberData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    role: BoardRole
    profession: Profession
    health_profession: bool


class GovernanceUpdated(EventPayload):
    event_type: ClassVar[str] = "fr.cpts.registry.governance.updated.v1"
    cpts_id: str
    region: str
    departement: str
    board: list[BoardMemberData]
    non_health_members: int


ALL_PAYLOADS: list[type[EventPayload]] = [
    CptsRegistered,
    CptsUpdated,
    CptsStatusChanged,
    TerritoryUpdated,
    MembersReported,
    GovernanceUpdated,
]
