"""Payloads of the funding service's CloudEvents (topic ``cpts.funding.events``, key = CPTS id).
Each carries the CPTS id and its region and département, so that consumers can scope what
they project. Amounts are decimal strings with two decimals."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cpts_funding.domain.categories import FunderCategory
from cpts_funding.domain.flows import FlowKind
from cpts_funding.domain.missions import Part
from cpts_kit.events import EventPayload
from cpts_kit.missions import Mission
from cpts_kit.money import Money


class FlowData(EventPayload):
    """One flow; a reversal has the opposite amount of the flow it cancels (``reverses``)."""

    flow_id: str
    cpts_id: str
    region: str
    departement: str
    kind: FlowKind
    funder_id: str
    funder_name: str
    funder_siren: str | None
    funder_category: FunderCategory
    fiscal_year: int
    mission: Mission
    part: Part
    amount: Money
    date: dt.date
    funder_reference: str
    reverses: str | None = Field(description="The flow this one reverses (a correction), if any")
    aci_basis: str | None = Field(
        None,
        description="ACI money to a CPTS not aci_signed on the flow's date: the exception that allows it "
        "(intention_letter_lump_sum, balance_under_contract)",
    )


class AllocationNotified(FlowData):
    """An allocation or commitment was notified (or reversed)."""

    event_type: ClassVar[str] = "fr.cpts.funding.allocation.notified.v1"


class PaymentRecorded(FlowData):
    """A payment to the CPTS was recorded (or reversed)."""

    event_type: ClassVar[str] = "fr.cpts.funding.payment.recorded.v1"


class RecoveryRecorded(FlowData):
    """Money was taken back from the CPTS (or the recovery reversed)."""

    event_type: ClassVar[str] = "fr.cpts.funding.recovery.recorded.v1"


FLOW_EVENTS: dict[FlowKind, type[FlowData]] = {
    FlowKind.ALLOCATION: AllocationNotified,
    FlowKind.PAYMENT: PaymentRecorded,
    FlowKind.RECOVERY: RecoveryRecorded,
}


class DeclaredSourceData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: FunderCategory
    funder_id: str | None
    funder_name: str | None
    funder_siren: str | None
    amount: Money


class DeclarationSubmitted(EventPayload):
    """A CPTS declared its funding sources for a fiscal year (a new version of its declaration)."""

    event_type: ClassVar[str] = "fr.cpts.funding.declaration.submitted.v1"
    declaration_id: str
    cpts_id: str
    region: str
    departement: str
    fiscal_year: int
    version: int
    sources: list[DeclaredSourceData]
    total: Money


class EnvelopeLineData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mission: Mission
    fixed: Money
    snp_compensation: Money
    variable_max: Money
    achievement: str | None = Field(description="Indicator achievement rate (0-1, four decimals), if assessed")
    variable_earned: Money
    reallocated: Money


class EnvelopeComputed(EventPayload):
    """The ACI envelope of a CPTS for a year changed (achievements recorded, reallocation accepted)."""

    event_type: ClassVar[str] = "fr.cpts.funding.envelope.computed.v1"
    cpts_id: str
    region: str
    departement: str
    year: int
    parameters_version: str
    illustrative: bool = Field(description="True while the ACI parameters are the illustrative set")
    size_tier: str
    population: int
    maturity: int
    aci_days: int
    functioning: Money
    lines: list[EnvelopeLineData]
    maximum: Money
    theoretical: Money


class ReallocationDecided(EventPayload):
    """A request to move envelope between missions was accepted or refused (with the reason)."""

    event_type: ClassVar[str] = "fr.cpts.funding.reallocation.decided.v1"
    reallocation_id: str
    cpts_id: str
    region: str
    departement: str
    year: int
    from_mission: Mission
    to_mission: Mission
    amount: Money
    accepted: bool
    reason_code: str
    reason: str


class OverMaximum(EventPayload):
    """The ACI money paid to a CPTS for a year went above its envelope's maximum."""

    event_type: ClassVar[str] = "fr.cpts.funding.envelope.over_maximum.v1"
    cpts_id: str
    region: str
    departement: str
    year: int
    maximum: Money
    paid: Money = Field(description="ACI money paid for the year, net of recoveries")
    excess: Money = Field(description="paid - maximum")
    flow_ids: list[str] = Field(description="The year's ACI payments, in recording order")


class ReductionStepData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    from_maturity: int
    reduction: str = Field(description="Share (0-1, four decimals)")


class LeversData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    functioning_reduction: list[ReductionStepData]
    variable_share: str | None = Field(description="Share (0-1, four decimals)")
    fungibility_share: str | None = Field(description="Share (0-1, four decimals)")
    fungibility_national_cap: Money | None


class PolicyVersioned(EventPayload):
    """A year's policy levers changed: a new version, with its author and reason."""

    event_type: ClassVar[str] = "fr.cpts.funding.policy.versioned.v1"
    year: int
    version: int
    author: str
    reason: str
    levers: LeversData


ALL_PAYLOADS: list[type[EventPayload]] = [
    AllocationNotified,
    PaymentRecorded,
    RecoveryRecorded,
    DeclarationSubmitted,
    EnvelopeComputed,
    ReallocationDecided,
    OverMaximum,
    PolicyVersioned,
]
