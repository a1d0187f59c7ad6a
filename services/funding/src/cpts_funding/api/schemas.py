"""Request and response bodies of the public contract (``/v1``). Amounts are decimal strings
with two decimals (``cpts_kit.money.Money``); rates decimal strings with four."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cpts_funding.api.types import FiscalYear, Identifier, Name, NonNegativeMoney, PositiveMoney, Rate, Siren
from cpts_funding.domain.categories import FunderCategory
from cpts_funding.domain.flows import FlowKind
from cpts_funding.domain.missions import ConventionalMission, Mission, Part
from cpts_kit.money import Money

Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Note = Annotated[str, StringConstraints(max_length=500)]

MAX_SOURCES = 200


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- funders ---------------------------------------------------------------------------


class FunderCreate(Strict):
    name: Name
    category: FunderCategory
    siren: Siren | None = Field(None, description="SIREN of the funder, where it has one (unique)")


class FunderView(BaseModel):
    id: str
    name: str
    category: FunderCategory
    category_label: str
    siren: str | None


class CategoryView(BaseModel):
    code: FunderCategory
    label_fr: str
    must_be_named: bool = Field(description="Declared sources of this category must name the funder")
    local_authority: bool


class MissionView(BaseModel):
    code: Mission
    label_fr: str
    conventional: bool


# --- flows -----------------------------------------------------------------------------


class FlowCreate(Strict):
    kind: FlowKind
    cpts_id: Identifier
    funder_id: Identifier
    fiscal_year: FiscalYear
    mission: Mission
    part: Part
    amount: PositiveMoney
    date: dt.date = Field(description="Date of the notification, payment or recovery")
    funder_reference: Reference = Field(description="The funder's own reference (decision, mandate...)")
    note: Note | None = None


class FlowView(BaseModel):
    id: str
    seq: int = Field(description="Recording order (the audit trail)")
    kind: FlowKind
    cpts_id: str
    cpts_name: str
    region: str
    departement: str
    funder_id: str
    funder_name: str
    funder_category: FunderCategory
    fiscal_year: int
    mission: Mission
    part: Part
    amount: Money
    date: dt.date
    funder_reference: str
    reverses: str | None = Field(description="The flow this one reverses")
    reversed_by: str | None = Field(description="The reversal of this flow, once corrected")
    note: str | None
    recorded_at: dt.datetime
    recorded_by: str


class ReversalRequest(Strict):
    date: dt.date = Field(description="Date of the correction")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
    replacement: FlowCreate | None = Field(None, description="The corrected flow, recorded with the reversal")


class Correction(BaseModel):
    reversal: FlowView
    replacement: FlowView | None


# --- declarations ----------------------------------------------------------------------


class SourceIn(Strict):
    category: FunderCategory
    amount: PositiveMoney
    funder_id: Identifier | None = Field(None, description="A funder known to the service")
    funder_name: Name | None = Field(None, description="Required for private, pharmaceutical and foundation money")
    funder_siren: Siren | None = None


class DeclarationCreate(Strict):
    cpts_id: Identifier
    fiscal_year: FiscalYear
    sources: list[SourceIn] = Field(min_length=1, max_length=MAX_SOURCES)
    note: Annotated[str, StringConstraints(max_length=1000)] | None = None


class SourceView(BaseModel):
    category: FunderCategory
    funder_id: str | None
    funder_name: str | None
    funder_siren: str | None
    amount: Money


class KeyAmount(BaseModel):
    key: str
    amount: Money


class DeclarationView(BaseModel):
    id: str
    cpts_id: str
    cpts_name: str
    region: str
    departement: str
    fiscal_year: int
    version: int
    sources: list[SourceView]
    total: Money
    by_category: list[KeyAmount]
    note: str | None
    submitted_at: dt.datetime
    submitted_by: str


# --- ACI parameters and policy levers --------------------------------------------------


class MissionAmountsIn(Strict):
    fixed: NonNegativeMoney
    variable: NonNegativeMoney


class TierIn(Strict):
    tier: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,10}$")]
    min_population: Annotated[int, Field(strict=True, ge=0, le=100_000_000)]
    functioning: NonNegativeMoney
    snp_compensation: NonNegativeMoney = Decimal("0.00")
    missions: dict[ConventionalMission, MissionAmountsIn] = Field(min_length=1)


class AciVersionIn(Strict):
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    effective_from: dt.date
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
    illustrative: bool = False
    advance_share: Rate = Field(Decimal("0.7500"), description="Share paid in advance (ACI: 75 %)")
    tiers: list[TierIn] = Field(min_length=1, max_length=10)


class MissionAmountsView(BaseModel):
    mission: Mission
    fixed: Money
    variable: Money


class TierView(BaseModel):
    tier: str
    min_population: int
    functioning: Money
    snp_compensation: Money
    missions: list[MissionAmountsView]
    ceiling: Money = Field(description="Functioning + SNP + every mission's fixed and variable maxima")


class AciVersionView(BaseModel):
    version: str
    label: str
    effective_from: dt.date
    illustrative: bool = Field(description="True for the illustrative set shipped by default (not the official split)")
    builtin: bool
    source: str
    advance_share: Rate
    tiers: list[TierView]


class ReductionStepIn(Strict):
    from_maturity: Annotated[int, Field(strict=True, ge=0, le=100)]
    reduction: Rate


class PolicyIn(Strict):
    functioning_reduction: list[ReductionStepIn] = Field(default_factory=list, max_length=20)
    variable_share: Rate | None = None
    fungibility_share: Rate | None = None
    fungibility_national_cap: NonNegativeMoney | None = None


class PolicyView(BaseModel):
    year: int
    functioning_reduction: list[ReductionStepIn]
    variable_share: Rate | None
    fungibility_share: Rate | None
    fungibility_national_cap: Money | None
    fungibility_used: Money = Field(description="Reallocations accepted for the year, nationally")
    set: bool = Field(description="False when no lever was set for the year (the parameters apply as they are)")


# --- envelopes, achievements, schedules --------------------------------------------------


class ParametersRef(BaseModel):
    version: str
    label: str
    effective_from: dt.date
    illustrative: bool


class EnvelopeLine(BaseModel):
    mission: Mission
    fixed: Money
    snp_compensation: Money
    variable_max: Money
    achievement: Rate | None
    variable_earned: Money
    reallocated: Money
    maximum: Money
    theoretical: Money
    paid: Money = Field(description="ACI money actually paid for this mission and year (net of recoveries)")


class FunctioningView(BaseModel):
    base: Money
    reduction: Rate
    amount: Money
    paid: Money


class EnvelopeTotals(BaseModel):
    functioning: Money
    fixed: Money
    variable_max: Money
    variable_earned: Money
    maximum: Money
    theoretical: Money
    paid: Money
    paid_outside_envelope: Money = Field(description="ACI money paid for the year outside the missions")
    remaining: Money = Field(description="theoretical − paid")


class EnvelopeView(BaseModel):
    cpts_id: str
    year: int
    eligible: bool = Field(description="The CPTS spent at least one day of the year with the status aci_signed")
    illustrative: bool
    parameters: ParametersRef
    population: int
    size_tier: str
    aci_signed_on: dt.date | None
    maturity: int
    aci_days: int
    days_in_year: int
    functioning: FunctioningView
    missions: list[EnvelopeLine]
    totals: EnvelopeTotals


class AchievementsIn(Strict):
    rates: dict[ConventionalMission, Rate] = Field(
        min_length=1, description="Indicator achievement by mission (0-1); missions left out keep theirs"
    )


class DueView(BaseModel):
    due_on: dt.date
    mission: Mission
    part: Part
    instalment: str
    amount: Money


class ScheduleView(BaseModel):
    cpts_id: str
    year: int
    illustrative: bool
    as_of: dt.date
    instalments: list[DueView]
    total: Money
    due_as_of: Money
    paid: Money
    outstanding_as_of: Money = Field(description="Due on the date minus what was paid (negative: paid ahead)")


# --- reallocations ---------------------------------------------------------------------


class ReallocationCreate(Strict):
    cpts_id: Identifier
    year: FiscalYear
    from_mission: ConventionalMission
    to_mission: ConventionalMission
    amount: PositiveMoney


class ReallocationView(BaseModel):
    id: str
    cpts_id: str
    year: int
    from_mission: Mission
    to_mission: Mission
    amount: Money
    decision: str = Field(description="accepted or refused")
    reason_code: str
    reason: str
    requested_at: dt.datetime
    requested_by: str


# --- analytics and reports -------------------------------------------------------------


class Scope(BaseModel):
    level: str
    code: str | None
    name: str


class EnvelopesVsPaid(BaseModel):
    signatories: int = Field(description="CPTS with an ACI envelope in the years")
    maximum: Money
    theoretical: Money
    paid: Money = Field(description="ACI money paid, net of recoveries")
    by_mission: list[KeyAmount] = Field(description="Theoretical envelope by mission (functioning included)")
    illustrative: bool


class FundingAnalytics(BaseModel):
    scope: Scope
    years: list[int]
    funder_category: FunderCategory | None
    total: Money = Field(description="Money paid, net of recoveries")
    allocated: Money
    recovered: Money
    cpts_funded: int = Field(description="Distinct CPTS that received a payment")
    population: int = Field(description="Population covered by the CPTS funded (registry)")
    per_capita: Money = Field(description="total / population")
    by_funder_category: list[KeyAmount]
    by_mission: list[KeyAmount]
    by_part: list[KeyAmount]
    by_year: list[KeyAmount]
    aci_envelopes: EnvelopesVsPaid


class OverlapView(BaseModel):
    cpts_id: str
    cpts_name: str
    region: str
    departement: str
    fiscal_year: int
    mission: Mission
    aci_allocated: Money
    aci_paid: Money
    fir_allocated: Money
    fir_paid: Money
