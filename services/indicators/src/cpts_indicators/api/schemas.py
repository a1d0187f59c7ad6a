"""Request and response bodies of the indicators API. Decimal values travel as strings (never
floats); rates have four decimals, money two."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, StringConstraints, WithJsonSchema

from cpts_indicators.domain.catalogue import Direction, Evidence, Kind
from cpts_indicators.domain.dialogue import Party
from cpts_kit.missions import Mission
from cpts_kit.money import Money, parse_decimal

RATE_QUANTUM = Decimal("0.0001")


def _decimal(value: Any) -> Decimal:
    return parse_decimal(value, places=4, what="number", example="150.5")


def _share(value: Any) -> Decimal:
    number = parse_decimal(value, places=4, what="share", example="0.25")
    if not Decimal(0) <= number <= Decimal(1):
        raise ValueError("a share is between 0 and 1")
    return number


DecimalText = Annotated[
    Decimal,
    BeforeValidator(_decimal),
    PlainSerializer(lambda d: f"{d:f}", return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d{1,4})?$", "examples": ["150", "3.50"]}),
]
Share = Annotated[
    Decimal,
    BeforeValidator(_share),
    PlainSerializer(lambda d: f"{d:f}", return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": r"^(0(\.\d{1,4})?|1(\.0{1,4})?)$", "examples": ["0.40"]}),
]
Rate = Annotated[
    Decimal,
    PlainSerializer(
        lambda d: f"{d.quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN):.4f}", return_type=str, when_used="always"
    ),
    WithJsonSchema({"type": "string", "pattern": r"^(0\.\d{4}|1\.0000)$", "examples": ["0.7500"]}),
]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_.]{1,79}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Year = Annotated[int, Field(strict=True, ge=2019, le=2100)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- catalogue --------------------------------------------------------------------------------


class GradeBody(_In):
    code: Code
    criterion: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)]


class TierDefaultBody(_In):
    baseline: DecimalText
    target: DecimalText


class IndicatorBody(_In):
    code: Code
    mission: Mission
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
    kind: Kind
    weight: Share = Field(description="Weight in its mission; a mission's weights add up to 1")
    evidence: list[Evidence] = Field(min_length=1, max_length=3, description="The evidence it accepts")
    unit: ShortText | None = None
    direction: Direction | None = None
    baseline_rule: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=1000)] | None = None
    defaults: dict[str, TierDefaultBody] | None = Field(
        default=None, description="Quantitative: baseline and first-year target for each tier T1-T4"
    )
    grades: list[GradeBody] = Field(default_factory=list, max_length=10, description="Qualitative: worst first")


class CatalogueBody(_In):
    effective_year: Year
    illustrative: bool = False
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
    yearly_growth: Share = Field(description="Default ambition added per maturity year (share of the first gap)")
    max_growth_years: Annotated[int, Field(strict=True, ge=0, le=10)]
    adjustment_bound: Share = Field(description="Quantitative targets adjustable within ± this share of the default")
    grade_bound: Annotated[int, Field(strict=True, ge=0, le=10)]
    indicators: list[IndicatorBody] = Field(min_length=1, max_length=200)


class CatalogueView(CatalogueBody):
    model_config = ConfigDict(extra="ignore")

    version: str
    shipped: bool = Field(description="The illustrative version shipped with the service")
    loaded_by: str
    loaded_at: dt.datetime | None


class CatalogueSummary(BaseModel):
    version: str
    effective_year: int
    illustrative: bool
    label: str
    indicators: int
    shipped: bool
    loaded_at: dt.datetime | None


# --- targets ----------------------------------------------------------------------------------


class TargetChoiceBody(_In):
    indicator: Code
    target: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | None = Field(
        default=None, description="A number (quantitative) or a grade (qualitative); omitted: the default"
    )
    reason: Text | None = Field(default=None, description="Why the target departs from its default (required then)")


class TargetsBody(_In):
    indicators: list[TargetChoiceBody] = Field(min_length=1, max_length=200)


class TargetView(BaseModel):
    indicator: str
    mission: Mission
    name: str
    kind: Kind
    unit: str | None
    direction: Direction | None
    baseline: str | None
    default: str
    target: str
    adjusted: bool
    reason: str | None


class AdjustmentView(BaseModel):
    indicator: str
    default: str
    target: str
    reason: str
    adjusted_by: str
    adjusted_role: str
    adjusted_at: dt.datetime


class TargetsView(BaseModel):
    cpts_id: str
    year: int
    catalogue_version: str
    illustrative: bool
    size_tier: str
    maturity: int
    set: bool = Field(description="False: no target set yet, these are the defaults")
    set_by: str | None
    set_at: dt.datetime | None
    targets: list[TargetView]
    adjustments: list[AdjustmentView] = Field(description="Every adjustment away from a default, with its reason")


# --- measurements -----------------------------------------------------------------------------


class ExtractBody(_In):
    system: ShortText = Field(description="The information system (e.g. Assurance maladie Rezone, SAS platform)")
    reference: ShortText
    extracted_on: dt.date


class EvidenceBody(_In):
    strength: Evidence
    documents: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=20, description="Ids of documents received by the documents service"
    )
    extract: ExtractBody | None = None
    declaration: Text | None = None


class MeasurementBody(_In):
    indicator: Code
    year: Year
    period_start: dt.date
    period_end: dt.date
    value: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] = Field(
        description="A decimal string (quantitative) or a grade code (qualitative)"
    )
    source: ShortText
    evidence: EvidenceBody


class MeasurementView(BaseModel):
    measurement_id: str
    cpts_id: str
    year: int
    indicator: str
    mission: Mission
    period_start: dt.date
    period_end: dt.date
    value: str
    source: str
    evidence: EvidenceBody
    recorded_by: str
    recorded_at: dt.datetime


# --- achievement ------------------------------------------------------------------------------


class IndicatorAchievementView(BaseModel):
    indicator: str
    mission: Mission
    weight: str
    value: str | None
    target: str
    rate: Rate
    evidence_strength: Evidence | None
    evidence_factor: str
    counted: Rate
    how: str


class MissionAchievementView(BaseModel):
    mission: Mission
    rate: Rate = Field(description="Σ weight × counted / Σ weight over the targeted indicators")
    indicators_count: int
    measurements_count: int
    declarative_share: Rate | None
    variable_maximum: Money | None = Field(description="From funding's envelope.computed, if received")
    variable_earned: Money | None


class AchievementView(BaseModel):
    cpts_id: str
    year: int
    catalogue_version: str
    illustrative: bool
    targets_set: bool = Field(description="False: measured against the default targets")
    validated: bool = Field(description="Validated by the ARS and the CPAM in the dialogue: frozen")
    dialogue_id: str | None
    rule: str
    indicators: list[IndicatorAchievementView]
    missions: list[MissionAchievementView]
    variable_maximum: Money | None
    variable_earned: Money | None


# --- dialogues --------------------------------------------------------------------------------


class ParticipantBody(_In):
    name: ShortText
    party: Party
    organisation: ShortText | None = None


class GridEntryBody(_In):
    mission: Mission
    results: Text = ""
    difficulties: Text = ""
    means: Text = ""
    cpts_comment: Text = ""


class TargetDecisionBody(_In):
    indicator: Code
    target: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    reason: Text


class DecisionsBody(_In):
    targets_next_year: list[TargetDecisionBody] = Field(default_factory=list, max_length=200)
    variable_part_validated: bool = False
    documents_requested: list[ShortText] = Field(default_factory=list, max_length=50)


class DialogueBody(_In):
    year: Year
    held_on: dt.date
    participants: list[ParticipantBody] = Field(min_length=3, max_length=100)
    grid: list[GridEntryBody] = Field(max_length=10, description="The common national grid, one entry per mission")
    decisions: DecisionsBody = Field(default_factory=DecisionsBody)


class ValidationView(BaseModel):
    by: str
    at: dt.datetime


class DialogueView(BaseModel):
    dialogue_id: str
    cpts_id: str
    year: int
    held_on: dt.date
    participants: list[ParticipantBody]
    grid: list[GridEntryBody]
    decisions: DecisionsBody
    recorded_by: str
    recorded_at: dt.datetime
    validated_by_ars: ValidationView | None
    validated_by_cpam: ValidationView | None
    frozen: bool = Field(description="Validated by both: the year's achievement is frozen")


class MissingDialogueView(BaseModel):
    cpts_id: str
    name: str
    region: str
    departement: str
    aci_signed_on: dt.date
    due_on: dt.date = Field(description="The contract anniversary after the year's end")
    days_overdue: int


class ActivityView(BaseModel):
    cpts_id: str
    name: str
    region: str
    departement: str
    year: int
    dialogue_due_on: dt.date | None = Field(description="The contract anniversary after the year's end")
    missions_funded: list[Mission]
    missions_funded_without_measurement: list[Mission]
    measurements_count: int
    declarative_share: Rate | None
    dialogue_held: bool
    dialogue_missing: bool
