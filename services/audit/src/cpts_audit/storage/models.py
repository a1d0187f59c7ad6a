"""The audit's tables: projections of other services' events, the CPTS whose facts changed,
findings with their history, and risk scores."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cpts_kit.db import Base, BigIntPK, UTCDateTime, utcnow
from cpts_kit.money import MoneyColumn


class Fact(Base):
    """The last known payload of one fact, keyed by what it is about: a CPTS (``cpts``), a
    flow (``flow``), a declaration of a year (``declaration``), the accounts of a year
    (``accounts``)... The payload is the producer's, read back through tolerant readers."""

    __tablename__ = "facts"
    __table_args__ = (Index("ix_facts_cpts", "cpts_id", "kind"),)

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    cpts_id: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(3))
    departement: Mapped[str] = mapped_column(String(3))
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    event_id: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DirtyCpts(Base):
    """A CPTS whose facts changed since its rules last ran; ``version`` grows with each change,
    so the evaluator clears only what it evaluated."""

    __tablename__ = "dirty_cpts"

    cpts_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=1)


class Finding(Base):
    __tablename__ = "findings"
    __table_args__ = (
        Index("ix_findings_scope", "region", "departement", "cpts_id"),
        Index("ix_findings_rule", "rule", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    rule: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(120))
    cpts_id: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(3))
    departement: Mapped[str] = mapped_column(String(3))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(MoneyColumn)
    explanation: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    parameters_version: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))
    # The workflow status a closed finding had, so that it reopens where it was.
    status_before_close: Mapped[str | None] = mapped_column(String(20), nullable=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revision: Mapped[int] = mapped_column(Integer, default=1)


class FindingTransition(Base):
    """Every status change of a finding, by whom and why."""

    __tablename__ = "finding_transitions"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    author: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    by_audit: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RiskScore(Base):
    __tablename__ = "risk_scores"
    __table_args__ = (Index("ix_risk_scope", "region", "departement"),)

    cpts_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(3))
    departement: Mapped[str] = mapped_column(String(3))
    name: Mapped[str] = mapped_column(String(300), default="")
    score: Mapped[int] = mapped_column(Integer)
    open_findings: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
