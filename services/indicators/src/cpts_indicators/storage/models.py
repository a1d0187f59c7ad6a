"""Tables of the indicators service: the catalogue versions, targets (with the history of their
adjustments), measurements, dialogues, frozen achievements, and the projections of the
registry's, funding's and documents' events. Decimal values (targets, measured values) are
kept as the decimal strings they were given, exact on both backends."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cpts_kit.db import Base, BigIntPK, UTCDateTime, utcnow
from cpts_kit.money import MoneyColumn


def new_id() -> str:
    return str(uuid.uuid4())


class CatalogueVersion(Base):
    __tablename__ = "indicator_catalogue_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    effective_year: Mapped[int] = mapped_column(Integer, index=True)
    illustrative: Mapped[bool] = mapped_column(Boolean)
    label: Mapped[str] = mapped_column(String(500))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_by: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- projections of other services' events --------------------------------------------------


class RegistryCpts(Base):
    """From ``cpts.registry.events``: what targets and the calendar need."""

    __tablename__ = "indicator_cpts"

    cpts_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    region: Mapped[str] = mapped_column(String(3), index=True)
    departement: Mapped[str] = mapped_column(String(3), index=True)
    size_tier: Mapped[str | None] = mapped_column(String(2), nullable=True)
    population: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The first ACI signature: maturity counts from it, anniversaries fall on it.
    aci_signed_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class EnvelopeLine(Base):
    """From funding's ``envelope.computed``: each mission's money for a CPTS and year."""

    __tablename__ = "indicator_envelope_lines"

    cpts_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    mission: Mapped[str] = mapped_column(String(40), primary_key=True)
    fixed: Mapped[Any] = mapped_column(MoneyColumn)
    variable_max: Mapped[Any] = mapped_column(MoneyColumn)


class KnownDocument(Base):
    """From ``cpts.documents.events``: the documents a measurement may cite as evidence."""

    __tablename__ = "indicator_documents"

    document_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cpts_id: Mapped[str] = mapped_column(String(64), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(60))
    verdict: Mapped[str] = mapped_column(String(40))


# --- the service's own data ------------------------------------------------------------------


class TargetSet(Base):
    __tablename__ = "indicator_target_sets"

    cpts_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(3))
    departement: Mapped[str] = mapped_column(String(3))
    catalogue_version: Mapped[str] = mapped_column(String(64))
    size_tier: Mapped[str] = mapped_column(String(2))
    maturity: Mapped[int] = mapped_column(Integer)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TargetRow(Base):
    __tablename__ = "indicator_targets"

    cpts_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator: Mapped[str] = mapped_column(String(80), primary_key=True)
    mission: Mapped[str] = mapped_column(String(40))
    baseline: Mapped[str | None] = mapped_column(String(40), nullable=True)
    default: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class TargetAdjustment(Base):
    """Every adjustment of a target away from its default, with its reason: never deleted."""

    __tablename__ = "indicator_target_adjustments"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    cpts_id: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer)
    indicator: Mapped[str] = mapped_column(String(80))
    default: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    adjusted_by: Mapped[str] = mapped_column(String(200))
    adjusted_role: Mapped[str] = mapped_column(String(20))
    adjusted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Measurement(Base):
    __tablename__ = "indicator_measurements"
    __table_args__ = (Index("ix_indicator_measurements_cpts_year", "cpts_id", "year"),)

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    measurement_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    cpts_id: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(3), index=True)
    departement: Mapped[str] = mapped_column(String(3))
    year: Mapped[int] = mapped_column(Integer)
    indicator: Mapped[str] = mapped_column(String(80))
    mission: Mapped[str] = mapped_column(String(40))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    value: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(300))
    evidence_strength: Mapped[str] = mapped_column(String(20))
    documents: Mapped[list[str]] = mapped_column(JSON)
    extract: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    declaration: Mapped[str | None] = mapped_column(Text, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dialogue(Base):
    __tablename__ = "indicator_dialogues"
    __table_args__ = (UniqueConstraint("cpts_id", "year"),)

    dialogue_id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    cpts_id: Mapped[str] = mapped_column(String(64), index=True)
    region: Mapped[str] = mapped_column(String(3), index=True)
    departement: Mapped[str] = mapped_column(String(3))
    year: Mapped[int] = mapped_column(Integer)
    held_on: Mapped[date] = mapped_column(Date)
    participants: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    grid: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    decisions: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ars_validated_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    ars_validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    cpam_validated_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cpam_validated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class FrozenAchievement(Base):
    """The achievement of a year as validated by the ARS and the CPAM in the dialogue."""

    __tablename__ = "indicator_frozen_achievements"

    cpts_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    dialogue_id: Mapped[str] = mapped_column(String(36))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    frozen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PublishedSignal(Base):
    """The last ``activity.assessed`` payload published per CPTS and year: a new one only
    when a signal changes."""

    __tablename__ = "indicator_published_signals"

    cpts_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
