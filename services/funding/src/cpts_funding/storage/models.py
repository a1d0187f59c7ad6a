"""Funding tables. The kit's outbox, inbox and idempotency tables live in the same database.

``registry_cpts`` and ``registry_status_history`` are the projection of the registry's events
(the funding service never reads the registry's database); every other table is the
service's own. Flows are never updated nor deleted: a correction is a new flow.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cpts_kit.db import Base, BigIntPK, UTCDateTime, utcnow
from cpts_kit.money import MoneyColumn

# Rates (achievement, shares, reductions) with four decimals, between 0 and 1.
RateColumn = Numeric(5, 4, asdecimal=True)


def new_id() -> str:
    return str(uuid.uuid4())


class RegistryCpts(Base):
    """What the funding service knows of a CPTS, from the registry's events."""

    __tablename__ = "registry_cpts"
    __table_args__ = (Index("ix_registry_cpts_scope", "region", "departement"),)

    cpts_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    siren: Mapped[str | None] = mapped_column(String(9))
    region: Mapped[str] = mapped_column(String(3))
    departement: Mapped[str] = mapped_column(String(3))
    status: Mapped[str | None] = mapped_column(String(40))
    status_since: Mapped[date | None] = mapped_column(Date)
    aci_signed_on: Mapped[date | None] = mapped_column(Date)
    population: Mapped[int] = mapped_column(Integer, default=0)
    size_tier: Mapped[str | None] = mapped_column(String(4))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class RegistryStatus(Base):
    __tablename__ = "registry_status_history"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    cpts_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(40))
    effective_date: Mapped[date] = mapped_column(Date)


class Funder(Base):
    __tablename__ = "funders"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40), index=True)
    siren: Mapped[str | None] = mapped_column(String(9), unique=True)
    # A territorial funder (a collectivité) names its region and/or département; national: none.
    region: Mapped[str | None] = mapped_column(String(3))
    departement: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class Flow(Base):
    """One allocation, payment or recovery; ``reverses`` marks a reversal (opposite amount)."""

    __tablename__ = "flows"
    __table_args__ = (
        Index("ix_flows_cpts_year", "cpts_id", "fiscal_year"),
        Index("ix_flows_year_category", "fiscal_year", "funder_category"),
    )

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(20))
    cpts_id: Mapped[str] = mapped_column(String(64))
    funder_id: Mapped[str] = mapped_column(ForeignKey("funders.id"), index=True)
    funder_category: Mapped[str] = mapped_column(String(40))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    mission: Mapped[str] = mapped_column(String(40))
    part: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(MoneyColumn)
    flow_date: Mapped[date] = mapped_column(Date)
    funder_reference: Mapped[str] = mapped_column(String(100))
    reverses: Mapped[str | None] = mapped_column(String(36), unique=True)
    aci_basis: Mapped[str | None] = mapped_column(String(40))  # an exception to the signatories-only rule
    note: Mapped[str | None] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(200))

    funder: Mapped[Funder] = relationship(lazy="joined")


class Declaration(Base):
    """The funding sources a CPTS declares for a fiscal year; a new submission is a new version."""

    __tablename__ = "declarations"
    __table_args__ = (UniqueConstraint("cpts_id", "fiscal_year", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    cpts_id: Mapped[str] = mapped_column(String(64), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = mapped_column(MoneyColumn)
    note: Mapped[str | None] = mapped_column(String(1000))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by: Mapped[str] = mapped_column(String(200))

    sources: Mapped[list[DeclaredSource]] = relationship(
        order_by="DeclaredSource.position", cascade="all, delete-orphan", lazy="selectin"
    )


class DeclaredSource(Base):
    __tablename__ = "declared_sources"

    declaration_id: Mapped[str] = mapped_column(ForeignKey("declarations.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(40))
    funder_id: Mapped[str | None] = mapped_column(String(36))
    funder_name: Mapped[str | None] = mapped_column(String(200))
    funder_siren: Mapped[str | None] = mapped_column(String(9))
    amount: Mapped[Decimal] = mapped_column(MoneyColumn)


class AciVersion(Base):
    """An ACI parameter version loaded by an administrator (the shipped ones are package data)."""

    __tablename__ = "aci_parameter_versions"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[date] = mapped_column(Date)
    illustrative: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(500))
    advance_share: Mapped[Decimal] = mapped_column(RateColumn)
    crisis_update_share: Mapped[Decimal | None] = mapped_column(RateColumn)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))

    tiers: Mapped[list[AciTier]] = relationship(
        order_by="AciTier.min_population", cascade="all, delete-orphan", lazy="selectin"
    )


class AciTier(Base):
    __tablename__ = "aci_parameter_tiers"

    version_seq: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("aci_parameter_versions.seq", ondelete="CASCADE"), primary_key=True
    )
    tier: Mapped[str] = mapped_column(String(10), primary_key=True)
    min_population: Mapped[int] = mapped_column(Integer)
    functioning: Mapped[Decimal] = mapped_column(MoneyColumn)
    snp_compensation: Mapped[Decimal] = mapped_column(MoneyColumn)
    startup_functioning: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    intention_letter_lump_sum: Mapped[Decimal | None] = mapped_column(MoneyColumn)

    missions: Mapped[list[AciMissionAmount]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class AciMissionAmount(Base):
    __tablename__ = "aci_parameter_missions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["version_seq", "tier"],
            ["aci_parameter_tiers.version_seq", "aci_parameter_tiers.tier"],
            ondelete="CASCADE",
        ),
    )

    version_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    tier: Mapped[str] = mapped_column(String(10), primary_key=True)
    mission: Mapped[str] = mapped_column(String(40), primary_key=True)
    fixed: Mapped[Decimal] = mapped_column(MoneyColumn)
    variable: Mapped[Decimal] = mapped_column(MoneyColumn)


class PolicyYear(Base):
    """The policy levers of one fiscal year (no row: no lever)."""

    __tablename__ = "policy_levers"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    variable_share: Mapped[Decimal | None] = mapped_column(RateColumn)
    fungibility_share: Mapped[Decimal | None] = mapped_column(RateColumn)
    fungibility_national_cap: Mapped[Decimal | None] = mapped_column(MoneyColumn)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(String(200))

    steps: Mapped[list[FunctioningStep]] = relationship(
        order_by="FunctioningStep.from_maturity", cascade="all, delete-orphan", lazy="selectin"
    )


class FunctioningStep(Base):
    __tablename__ = "policy_functioning_steps"

    year: Mapped[int] = mapped_column(ForeignKey("policy_levers.year", ondelete="CASCADE"), primary_key=True)
    from_maturity: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reduction: Mapped[Decimal] = mapped_column(RateColumn)


class Achievement(Base):
    """Indicator achievement of a mission for a year (0–1), which drives the variable part."""

    __tablename__ = "achievements"

    cpts_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    mission: Mapped[str] = mapped_column(String(40), primary_key=True)
    rate: Mapped[Decimal] = mapped_column(RateColumn)
    # "indicators" (a validated dialogue, from the indicators service's events) or "override"
    # (an administrator through PUT /v1/cpts/{id}/achievements/{year}).
    source: Mapped[str] = mapped_column(String(20), default="override", server_default="override")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(200))


class Reallocation(Base):
    """A fungibility request and its decision (kept whether accepted or refused)."""

    __tablename__ = "reallocations"
    __table_args__ = (Index("ix_reallocations_year", "year", "accepted"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    cpts_id: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer)
    from_mission: Mapped[str] = mapped_column(String(40))
    to_mission: Mapped[str] = mapped_column(String(40))
    amount: Mapped[Decimal] = mapped_column(MoneyColumn)
    accepted: Mapped[bool] = mapped_column(Boolean)
    reason_code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(500))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(200))


class PolicyVersion(Base):
    """Each change of a year's levers, kept: who, when, why, and the levers (JSON)."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("year", "version"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500))
    levers: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ContractMission(Base):
    """A mission of a CPTS's ACI contract and the date it starts (optional missions by choice)."""

    __tablename__ = "contract_missions"

    cpts_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mission: Mapped[str] = mapped_column(String(40), primary_key=True)
    starts_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(200))


class Spending(Base):
    """Actual spending per mission, from the documents service's spending statements (the
    latest statement of a CPTS-year replaces the previous one)."""

    __tablename__ = "spending"

    cpts_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    mission: Mapped[str] = mapped_column(String(40), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(MoneyColumn)
    document_id: Mapped[str] = mapped_column(String(64))
