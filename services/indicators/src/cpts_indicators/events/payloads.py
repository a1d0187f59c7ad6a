"""Payloads of the indicators service's CloudEvents (contracts.md of this round: field names
fixed; fields may be added, never renamed). Each carries the CPTS id so that consumers can
scope it; rates are decimal strings 0–1 with four decimals, money decimal strings."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cpts_indicators.domain.catalogue import Evidence
from cpts_kit.events import EventPayload
from cpts_kit.missions import Mission
from cpts_kit.money import Money

RATE_PATTERN = r"^(0\.\d{4}|1\.0000)$"


class TargetData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    indicator: str
    mission: Mission
    baseline: str | None
    default: str = Field(description="The default target (a number or a grade)")
    target: str = Field(description="The target agreed (a number or a grade)")
    adjusted: bool
    reason: str | None


class TargetsSet(EventPayload):
    """The targets of a CPTS for a year were set (or changed)."""

    event_type: ClassVar[str] = "fr.cpts.indicators.targets.set.v1"
    cpts_id: str
    region: str
    departement: str
    year: int
    catalogue_version: str
    size_tier: str
    maturity: int
    targets: list[TargetData]


class MeasurementRecorded(EventPayload):
    event_type: ClassVar[str] = "fr.cpts.indicators.measurement.recorded.v1"
    measurement_id: str
    cpts_id: str
    region: str
    departement: str
    year: int
    indicator: str
    mission: Mission
    period_start: date
    period_end: date
    evidence_strength: Evidence
    documents: list[str]


class MissionAchievementData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mission: Mission
    rate: str = Field(pattern=RATE_PATTERN, description="Weighted achievement, 0-1, four decimals")
    variable_maximum: Money | None = Field(description="The envelope's variable maximum, if known")
    variable_earned: Money | None = Field(description="variable_maximum × rate, if the maximum is known")
    indicators_count: int
    measurements_count: int
    declarative_share: str | None = Field(description="Share of declarative-only measurements (four decimals)")


class AchievementComputed(EventPayload):
    """The achievement of a CPTS for a year, after any change; ``validated`` once both the ARS
    and the CPAM validated it in the dialogue de gestion (the year is then frozen)."""

    event_type: ClassVar[str] = "fr.cpts.indicators.achievement.computed.v1"
    cpts_id: str
    region: str
    departement: str
    year: int
    catalogue_version: str
    validated: bool
    dialogue_id: str | None
    missions: list[MissionAchievementData]


class DialogueHeld(EventPayload):
    """A dialogue de gestion was recorded, or validated by the ARS or the CPAM."""

    event_type: ClassVar[str] = "fr.cpts.indicators.dialogue.held.v1"
    dialogue_id: str
    cpts_id: str
    region: str
    departement: str
    year: int
    held_on: date
    validated_by_ars: bool
    validated_by_cpam: bool


class ActivityAssessed(EventPayload):
    """The "empty shell" signals of a CPTS for a year, published whenever one changes."""

    event_type: ClassVar[str] = "fr.cpts.indicators.activity.assessed.v1"
    cpts_id: str
    region: str
    departement: str
    year: int
    missions_funded: list[Mission]
    missions_funded_without_measurement: list[Mission]
    measurements_count: int
    declarative_share: str | None
    dialogue_missing: bool
    as_of: date


ALL_PAYLOADS: list[type[EventPayload]] = [
    TargetsSet,
    MeasurementRecorded,
    AchievementComputed,
    DialogueHeld,
    ActivityAssessed,
]
