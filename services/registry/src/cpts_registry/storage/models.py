"""Registry tables. The kit's outbox, inbox and idempotency tables live in the same database."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cpts_kit.db import Base, UTCDateTime, utcnow


def new_id() -> str:
    return str(uuid.uuid4())


class Cpts(Base):
    __tablename__ = "cpts"
    __table_args__ = (
        Index("ix_cpts_scope", "region", "departement"),
        Index("ix_cpts_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    siren: Mapped[str] = mapped_column(String(9), unique=True)
    siret: Mapped[str | None] = mapped_column(String(14))
    finess: Mapped[str | None] = mapped_column(String(9))
    legal_form: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(3))
    departement: Mapped[str] = mapped_column(String(3))
    attachment_cpam: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(40))
    status_since: Mapped[date] = mapped_column(Date)
    aci_signed_on: Mapped[date | None] = mapped_column(Date)
    population: Mapped[int] = mapped_column(Integer, default=0)
    size_tier: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    history: Mapped[list[StatusChange]] = relationship(
        order_by="StatusChange.seq", cascade="all, delete-orphan", lazy="raise"
    )
    territory: Mapped[list[TerritoryCommune]] = relationship(cascade="all, delete-orphan", lazy="raise")


class StatusChange(Base):
    __tablename__ = "cpts_status_history"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cpts_id: Mapped[str] = mapped_column(ForeignKey("cpts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(40))
    effective_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(500))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(200))


class TerritoryCommune(Base):
    __tablename__ = "cpts_territory"

    cpts_id: Mapped[str] = mapped_column(ForeignKey("cpts.id", ondelete="CASCADE"), primary_key=True)
    commune: Mapped[str] = mapped_column(String(5), primary_key=True, index=True)


class MemberCount(Base):
    __tablename__ = "cpts_members"

    cpts_id: Mapped[str] = mapped_column(ForeignKey("cpts.id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    profession: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class BoardMember(Base):
    __tablename__ = "cpts_board"
    __table_args__ = (UniqueConstraint("cpts_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cpts_id: Mapped[str] = mapped_column(ForeignKey("cpts.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    profession: Mapped[str] = mapped_column(String(40))
    health_profession: Mapped[bool] = mapped_column(Boolean)
