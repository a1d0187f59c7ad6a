"""Request and response bodies of the public contract (``/v1``). Amounts are decimal strings
with two decimals (``cpts_kit.money.Money``); rates decimal strings with four."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cpts_funding.api.deps import INSEE_DEPARTEMENT, INSEE_REGION
from cpts_funding.api.types import FiscalYear, Identifier, Name, NonNegativeMoney, PositiveMoney, Rate, Siren
from cpts_funding.domain.categories import FunderCategory
from cpts_funding.domain.flows import FlowKind
from cpts_funding.domain.missions import ConventionalMission, Part
from cpts_funding.domain.signatories import AciBasis
from cpts_kit.missions import Mission
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
    region: Annotated[str, StringConstraints(pattern=INSEE_REGION)] | None = Field(
        None, description="A territorial funder's region (a collectivité); none: a national funder"
    )
    departement: Annotated[str, StringConstraints(pattern=INSEE_DEPARTEMENT)] | None = Field(
        None, description="A territorial funder's département"
    )


class FunderView(BaseModel):
    id: str
    name: str
    category: FunderCategory
    category_label: str
    siren: str | None
    region: str | None
    departement: str | None


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
    aci_basis: AciBasis | None = Field(
        None,
        description="ACI money to a CPTS not aci_signed on the date: the exception that allows it (the "
        "lettre d'intention lump sum; a balance owed for a period under contract)",
    )


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
    aci_basis: AciBasis | None
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
    startup_functioning: NonNegativeMoney | None = Field(None, description="Functioning of the signature year")
    intention_letter_lump_sum: NonNegativeMoney | None = Field(None, description="Paid before the contract")


class AciVersionIn(Strict):
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    effective_from: dt.date
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)]
    illustrative: bool = False
    advance_share: Rate = Field(Decimal("0.7500"), description="Share paid in advance (ACI: 75 %)")
    crisis_update_share: Rate | None = Field(None, description="Crisis mission after its first year (avenant 2: 50 %)")
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
    startup_functioning: Money | None
    intention_letter_lump_sum: Money | None
    ceiling: Money = Field(description="Functioning + SNP + every mission's fixed and variable maxima")


class AciVersionView(BaseModel):
    version: str
    label: str
    effective_from: dt.date
    illustrative: bool = Field(description="True for the illustrative set shipped by default (not the official split)")
    builtin: bool
    source: str
    advance_share: Rate
    crisis_update_share: Rate | None
    tiers: list[TierView]


class ReductionStepIn(Strict):
    from_maturity: Annotated[int, Field(strict=True, ge=0, le=100)]
    reduction: Rate


class PolicyIn(Strict):
    functioning_reduction: list[ReductionStepIn] = Field(default_factory=list, max_length=20)
    variable_share: Rate | None = None
    fungibility_share: Rate | None = None
    fungibility_national_cap: NonNegativeMoney | None = None
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=500)] = Field(
        description="Why the levers change (kept with the version)"
    )


class PolicyVersionView(BaseModel):
    version: int
    author: str
    reason: str
    created_at: dt.datetime


class PolicyView(BaseModel):
    year: int
    functioning_reduction: list[ReductionStepIn]
    variable_share: Rate | None
    fungibility_share: Rate | None
    fungibility_national_cap: Money | None
    fungibility_used: Money = Field(description="Reallocations accepted for the year, nationally")
    set: bool = Field(description="False when no lever was set for the year (the parameters apply as they are)")
    version: int = Field(description="The current version (0: never set)")
    closed: bool = Field(description="ACI money of the year was paid: its levers can no longer change")
    history: list[PolicyVersionView]


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
    amount: Money = Field(description="The year's functioning credits, start-up top-up included")
    startup_top_up: Money = Field(
        description="Owed once to a CPTS signed before the start-up amounts: their difference (avenant 2)"
    )
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
    contract_year_start: dt.date = Field(
        description="The envelope covers the contract year starting in `year`: from the signature, then each "
        "anniversary (the calendar year before any signature)"
    )
    contract_year_end: dt.date
    aci_days: int = Field(description="Days of the contract year under aci_signed")
    days_in_year: int = Field(description="Days of the contract year (365 or 366)")
    functioning: FunctioningView
    missions: list[EnvelopeLine]
    totals: EnvelopeTotals
    signature_year: bool = Field(description="Functioning credits in full (start-up amount where the version has one)")
    over_maximum: bool = Field(description="The ACI money paid for the year is above the maximum")
    excess: Money = Field(description="paid − maximum when above it, else 0.00")


class ContractIn(Strict):
    missions: dict[ConventionalMission, dt.date] = Field(
        min_length=1,
        description="Each contracted mission and its start date; optional missions only if chosen",
    )


class ContractMissionView(BaseModel):
    mission: Mission
    starts_on: dt.date
    compulsory: bool
    start_deadline: dt.date | None = Field(description="Latest start after the signature (None: optional)")


class ContractView(BaseModel):
    cpts_id: str
    aci_signed_on: dt.date | None
    recorded: bool = Field(description="False: no contract recorded, every mission is taken to start at signature")
    missions: list[ContractMissionView]


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
    over_maximum: int = Field(description="CPTS-years paid above their envelope's maximum")
    excess: Money = Field(description="ACI money paid above the maxima")


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


# --- steering analytics and the simulator ------------------------------------------------


class SteeringRowView(BaseModel):
    key: dict[str, str] = Field(description="The row's value of each group_by dimension")
    cpts_count: int
    population: int = Field(description="Population covered by the row's CPTS (registry)")
    theoretical: Money
    maximum: Money
    allocated: Money
    paid: Money = Field(description="Net of recoveries")
    spent: Money | None = Field(description="From spending statements; null when grouped by funder category")
    per_capita: Money = Field(description="paid / population")


class SteeringView(BaseModel):
    scope: Scope
    year: int
    basis: str
    group_by: list[str]
    illustrative: bool
    rows: list[SteeringRowView]
    total: SteeringRowView


class LeversIn(Strict):
    functioning_reduction: list[ReductionStepIn] = Field(default_factory=list, max_length=20)
    variable_share: Rate | None = None


class SimulationIn(Strict):
    years: list[Annotated[int, Field(strict=True, ge=2019, le=2100)]] = Field(min_length=1, max_length=10)
    parameters_version: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] | None = Field(
        None, description="A stored or shipped version to simulate"
    )
    parameters: AciVersionIn | None = Field(None, description="An inline parameter set to simulate")
    levers: LeversIn | None = Field(None, description="Levers for every simulated year (none: each year's current)")


class CostView(BaseModel):
    signatories: int
    theoretical: Money
    maximum: Money
    by_tier: list[KeyAmount]
    by_mission: list[KeyAmount]
    by_region: list[KeyAmount]


class YearSimulationView(BaseModel):
    year: int
    simulated: CostView
    current: CostView
    difference_theoretical: Money
    difference_maximum: Money


class SimulationView(BaseModel):
    illustrative: bool = Field(description="The simulated or current parameters include the illustrative set")
    years: list[YearSimulationView]
