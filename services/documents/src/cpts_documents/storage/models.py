"""Documents tables. The kit's outbox, inbox and idempotency tables live in the same database."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cpts_kit.db import Base, UTCDateTime, utcnow


def new_id() -> str:
    return str(uuid.uuid4())


class CptsProjection(Base):
    """What the documents service knows of each CPTS, from the registry's events."""

    __tablename__ = "cpts_projection"
    __table_args__ = (Index("ix_cpts_projection_scope", "region", "departement"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    siren: Mapped[str | None] = mapped_column(String(9))
    region: Mapped[str] = mapped_column(String(3))
    departement: Mapped[str] = mapped_column(String(3))
    attachment_cpam: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[str | None] = mapped_column(String(40))
    status_since: Mapped[date | None] = mapped_column(Date)
    aci_signed_on: Mapped[date | None] = mapped_column(Date)
    board: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("cpts_id", "doc_type", "fiscal_year", "version", name="uq_documents_version"),
        UniqueConstraint("cpts_id", "doc_type", "fiscal_year", "sha256", name="uq_documents_content"),
        Index("ix_documents_current", "cpts_id", "fiscal_year", "is_current"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    cpts_id: Mapped[str] = mapped_column(String(64))
    doc_type: Mapped[str] = mapped_column(String(40))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    replaces_id: Mapped[str | None] = mapped_column(String(36))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str] = mapped_column(String(20))
    media_type: Mapped[str] = mapped_column(String(120))
    original_filename: Mapped[str | None] = mapped_column(String(255))
    financial_part: Mapped[bool | None] = mapped_column(Boolean)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    verdict: Mapped[str] = mapped_column(String(30))
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    warning_count: Mapped[int] = mapped_column(Integer, default=0)
    validation: Mapped[dict[str, Any]] = mapped_column(JSON)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    blob_key: Mapped[str] = mapped_column(String(300))
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_role: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RequirementSetRow(Base):
    """The documents owed for a fiscal year, when the national roles changed the default."""

    __tablename__ = "requirement_sets"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    deadline: Mapped[date] = mapped_column(Date)
    applies_to: Mapped[str] = mapped_column(String(30))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OverdueNotice(Base):
    """One overdue event per CPTS, fiscal year and required document, ever."""

    __tablename__ = "overdue_notices"

    cpts_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    requirement: Mapped[str] = mapped_column(String(60), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    deadline: Mapped[date] = mapped_column(Date)
    event_id: Mapped[str] = mapped_column(String(36))
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
