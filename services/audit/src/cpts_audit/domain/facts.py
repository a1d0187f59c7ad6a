"""What the audit knows of one CPTS, assembled from its projections: plain values, no I/O.
Every fact keeps the id of the event it came from, so a finding can cite it as evidence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ZERO = Decimal("0.00")

LUMP_SUM = "intention_letter_lump_sum"  # funding's aci_basis for it


@dataclass(frozen=True)
class CptsInfo:
    cpts_id: str
    region: str
    departement: str
    name: str = ""
    status: str | None = None
    aci_signed_on: date | None = None


@dataclass(frozen=True)
class Flow:
    """A funding flow (funding's categories); reversals carry the opposite amount."""

    flow_id: str
    kind: str  # allocation, payment, recovery
    category: str
    funder_name: str
    fiscal_year: int
    mission: str
    amount: Decimal
    on: date
    event_id: str
    # Why ACI money went to a CPTS not under contract on that date (funding's exception).
    aci_basis: str | None = None

    @property
    def against_envelope(self) -> bool:
        """ACI money the envelope caps: not the lettre d'intention lump sum, which avenant 2
        pays before the contract, outside any envelope (funding counts it the same way)."""
        return self.aci_basis != LUMP_SUM

    @property
    def signed_received(self) -> Decimal:
        """What the CPTS received: payments count, recoveries take back, allocations do not."""
        if self.kind == "payment":
            return self.amount
        if self.kind == "recovery":
            return -self.amount
        return ZERO


@dataclass(frozen=True)
class DeclaredSource:
    category: str
    funder_name: str | None
    amount: Decimal


@dataclass(frozen=True)
class Declaration:
    declaration_id: str
    fiscal_year: int
    version: int
    sources: tuple[DeclaredSource, ...]
    event_id: str

    def declared(self, categories: Iterable[str]) -> Decimal:
        wanted = set(categories)
        return sum((s.amount for s in self.sources if s.category in wanted), ZERO)


@dataclass(frozen=True)
class FlaggedEntry:
    line: int
    account: str
    label: str
    amount: Decimal
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Accounts:
    """The summary of the CPTS's accepted FEC for a fiscal year (documents' categories)."""

    document_id: str
    fiscal_year: int
    revenue_total: Decimal
    expense_total: Decimal
    revenue_by_category: dict[str, Decimal]
    available_reserves: Decimal
    cash: Decimal
    real_estate: Decimal
    flagged: tuple[FlaggedEntry, ...]
    flags_by_reason: dict[str, int]
    event_id: str

    def booked(self, categories: Iterable[str]) -> Decimal:
        return sum((self.revenue_by_category.get(c, ZERO) for c in set(categories)), ZERO)


@dataclass(frozen=True)
class Remuneration:
    """A pay line of a spending statement that carries hours (or a yearly amount per person)."""

    label: str
    amount: Decimal
    hours: Decimal | None
    persons: int | None


@dataclass(frozen=True)
class Spending:
    document_id: str
    fiscal_year: int
    by_mission: dict[str, Decimal]
    total: Decimal
    remunerations: tuple[Remuneration, ...]
    event_id: str


@dataclass(frozen=True)
class Envelope:
    fiscal_year: int
    maximum: Decimal
    theoretical: Decimal
    by_mission: dict[str, Decimal]  # the theoretical amount per mission
    event_id: str


@dataclass(frozen=True)
class OverMaximum:
    fiscal_year: int
    maximum: Decimal
    paid: Decimal
    excess: Decimal
    flow_ids: tuple[str, ...]
    event_id: str


@dataclass(frozen=True)
class DocumentNotice:
    """A document received, rejected or overdue, as far as financial transmission goes."""

    kind: str  # received, rejected, overdue
    fiscal_year: int
    document_type: str | None
    reference: str  # the document id, or the requirement for an overdue item
    label: str
    financial_part: bool | None
    verdict: str | None
    event_id: str


@dataclass(frozen=True)
class Activity:
    """Indicators' activity signals for a year."""

    year: int
    missions_without_measurement: tuple[str, ...]
    declarative_share: Decimal | None
    dialogue_missing: bool
    event_id: str


@dataclass(frozen=True)
class Members:
    year: int
    total: int
    event_id: str


@dataclass
class CptsFacts:
    """Everything projected about one CPTS, every year."""

    cpts: CptsInfo
    flows: list[Flow] = field(default_factory=list)
    declarations: dict[int, Declaration] = field(default_factory=dict)  # latest version per year
    accounts: dict[int, Accounts] = field(default_factory=dict)
    spending: dict[int, Spending] = field(default_factory=dict)
    envelopes: dict[int, Envelope] = field(default_factory=dict)
    over_maximum: dict[int, OverMaximum] = field(default_factory=dict)
    documents: list[DocumentNotice] = field(default_factory=list)
    activity: dict[int, Activity] = field(default_factory=dict)
    members: dict[int, Members] = field(default_factory=dict)
    dialogue_years: set[int] = field(default_factory=set)

    def received(self, categories: Iterable[str], year: int, *, missions: Iterable[str] | None = None) -> Decimal:
        wanted, scope = set(categories), set(missions) if missions is not None else None
        return sum(
            (
                f.signed_received
                for f in self.flows
                if f.category in wanted and f.fiscal_year == year and (scope is None or f.mission in scope)
            ),
            ZERO,
        )

    def envelope_paid(self, year: int) -> Decimal:
        """The ACI money of the year that its envelope caps (recoveries deducted)."""
        return sum((f.signed_received for f in self.payments({"aci"}, year) if f.against_envelope), ZERO)

    def payments(self, categories: Iterable[str], year: int) -> list[Flow]:
        wanted = set(categories)
        return [f for f in self.flows if f.kind != "allocation" and f.category in wanted and f.fiscal_year == year]

    def years(self) -> list[int]:
        found = {f.fiscal_year for f in self.flows} | set(self.accounts) | set(self.declarations)
        found |= set(self.activity) | {d.fiscal_year for d in self.documents} | set(self.over_maximum)
        return sorted(found)

    def members_in(self, year: int) -> Members | None:
        """The latest members report at or before the year."""
        known = [y for y in self.members if y <= year]
        return self.members[max(known)] if known else None
