"""Payloads of the documents service's CloudEvents, and the summary models they share with
the API. Each carries the CPTS id, region and département so that consumers can scope it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from cpts_documents.domain.completeness import ItemStatus
from cpts_documents.domain.types import DocumentType, Verdict
from cpts_kit.events import EventPayload
from cpts_kit.missions import Mission
from cpts_kit.money import Money


class Issue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: int = Field(description="1-based line number (0: the whole file)")
    column: str | None = Field(description="The column's name, when the issue is about one field")
    code: str = Field(description="Stable code, e.g. E_UNBALANCED_ENTRY (see the service README)")
    message: str


class FlaggedEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: int = Field(description="The line of the FEC (1 is the header)")
    account: str = Field(description="CompteNum, without separators")
    label: str = Field(description="EcritureLib (CompteLib when empty)")
    amount: Money = Field(description="On the account's natural side (expense debit, revenue credit)")
    reason: str = Field(description="The first reason (see `reasons`)")
    reasons: list[str]
    keywords: list[str] = Field(description="The words of the labels that raised the flag")


class ClosingEntries(BaseModel):
    model_config = ConfigDict(extra="forbid")

    count: int = Field(description="Entries moving class 6/7 balances into 120/129 (a FEC should hold none)")
    first_line: int | None
    revenue_set_apart: Money = Field(description="Class 7 amounts of those entries, left out of the revenue")
    expenses_set_apart: Money = Field(description="Class 6 amounts of those entries, left out of the expenses")


class Reserves(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reserves: Money = Field(description="106x réserves (closing balance)")
    retained_earnings: Money = Field(description="11x report à nouveau")
    own_funds: Money = Field(description="102/103/105/108 fonds propres")
    dedicated_funds: Money = Field(description="19x fonds dédiés et reportés")
    deferred_income: Money = Field(description="487 produits constatés d'avance")
    dedicated_funds_allocated: Money = Field(description="689x reports en fonds dédiés (expense of the year)")
    dedicated_funds_used: Money = Field(description="789x utilisations de fonds dédiés (income of the year)")
    cash: Money = Field(description="50-53 valeurs mobilières, banques, caisse")
    available_reserves: Money = Field(description="reserves + retained earnings + dedicated funds + result")
    months_of_expenses_in_cash: str | None = Field(description="cash / monthly expenses, one decimal")
    months_of_expenses_in_reserves: str | None = Field(description="available reserves / monthly expenses")


class FixedAssetPurchases(BaseModel):
    model_config = ConfigDict(extra="forbid")

    total: Money
    real_estate: Money = Field(description="211-214 and 231 debits outside the opening entries")
    by_category: dict[str, Money]


class AccountsSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chart: str = Field("anc_2018", description="The numbering read: anc_2018, or anc_2025 (fiscal years from 2025)")
    revenue_total: Money = Field(description="Class 7, before closing entries")
    expense_total: Money = Field(description="Class 6, before closing entries")
    result: Money
    revenue_by_category: dict[str, Money]
    revenue_by_group: dict[str, Money]
    expense_by_category: dict[str, Money]
    balance_sheet: dict[str, Money] = Field(description="Closing balances of classes 1-5 by category")
    reserves: Reserves
    period_months: str = Field("12", description="The fiscal period's length in months (for months of expenses)")
    fixed_asset_purchases: FixedAssetPurchases
    in_kind: dict[str, Money] = Field(description="Contributions volontaires en nature (86/87)")
    in_kind_balanced: bool = Field(True, description="86 (uses) equals 87 (contributions)")
    closing_entries: ClosingEntries = Field(
        default_factory=lambda: ClosingEntries(
            count=0, first_line=None, revenue_set_apart=Decimal("0.00"), expenses_set_apart=Decimal("0.00")
        )
    )
    flagged_entries: list[FlaggedEntry] = Field(description="The largest flagged lines, largest first")
    flagged_count: int = Field(description="Every flagged line, listed or not")
    flagged_listed: int = Field(0, description="How many are listed in flagged_entries")
    flags_by_reason: dict[str, int] = Field(description="Every flagged line by reason (complete)")
    flag_amounts_by_reason: dict[str, Money] = Field(
        default_factory=dict, description="The amounts of every flagged line by reason (complete)"
    )


class Remuneration(BaseModel):
    """A pay line of a spending statement that says what it pays."""

    model_config = ConfigDict(extra="forbid")

    label: str
    amount: Money
    hours: Decimal | None = Field(None, description="Hours the amount pays")
    persons: int | None = Field(None, description="Persons the amount pays (for the year)")


class SpendingByMission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by_mission: dict[Mission, Money]
    by_nature: dict[str, Money]
    total: Money
    items: int
    remunerations: list[Remuneration] = Field(
        default_factory=list, description="Pay lines with hours or persons (staff and fees)"
    )


class _DocumentEvent(EventPayload):
    document_id: str
    cpts_id: str
    region: str
    departement: str
    type: DocumentType
    fiscal_year: int
    version: int


class DocumentReceived(_DocumentEvent):
    """A document was received and kept (whatever its validation verdict)."""

    event_type: ClassVar[str] = "fr.cpts.documents.document.received.v1"
    replaces: str | None = Field(description="The previous version of this type and year, kept")
    sha256: str
    size: int
    media_type: str
    financial_part: bool | None
    verdict: Verdict
    error_count: int
    warning_count: int
    received_at: datetime


class DocumentRejected(_DocumentEvent):
    """A received document failed its validation (a FEC, a spending statement): the reasons."""

    event_type: ClassVar[str] = "fr.cpts.documents.document.rejected.v1"
    error_count: int
    errors: list[Issue] = Field(description="The first errors (at most 100)")


class AccountsSummarised(EventPayload):
    """The accounting summary of an accepted FEC."""

    event_type: ClassVar[str] = "fr.cpts.documents.accounts.summarised.v1"
    document_id: str
    cpts_id: str
    region: str
    departement: str
    fiscal_year: int
    period_start: date
    period_end: date
    summary: AccountsSummary


class SpendingStatementReceived(EventPayload):
    """An accepted spending statement: the actual spending per conventional mission."""

    event_type: ClassVar[str] = "fr.cpts.documents.spending_statement.received.v1"
    document_id: str
    cpts_id: str
    region: str
    departement: str
    fiscal_year: int
    spending: SpendingByMission


class DocumentOverdue(EventPayload):
    """A required document was not (acceptably) received by its deadline. Once per CPTS,
    fiscal year and requirement."""

    event_type: ClassVar[str] = "fr.cpts.documents.document.overdue.v1"
    cpts_id: str
    region: str
    departement: str
    fiscal_year: int
    requirement: str
    label: str
    accepted_types: list[DocumentType]
    deadline: date
    status: ItemStatus
    reason: str | None
    as_of: date


ALL_PAYLOADS: list[type[EventPayload]] = [
    DocumentReceived,
    DocumentRejected,
    AccountsSummarised,
    SpendingStatementReceived,
    DocumentOverdue,
]
