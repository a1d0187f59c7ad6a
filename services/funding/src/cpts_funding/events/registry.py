"""The registry's events as the funding service reads them: a tolerant reader (only the fields
it uses, extra fields ignored), after ``contracts/events/registry/*.json``. The funding service
never imports the registry's code."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

REGISTERED = "fr.cpts.registry.cpts.registered.v1"
UPDATED = "fr.cpts.registry.cpts.updated.v1"
STATUS_CHANGED = "fr.cpts.registry.cpts.status_changed.v1"
TERRITORY_UPDATED = "fr.cpts.registry.territory.updated.v1"


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")

    cpts_id: str
    region: str
    departement: str


class CptsSnapshot(_Tolerant):
    """``cpts.registered`` and ``cpts.updated``."""

    name: str = ""
    siren: str | None = None
    status: str | None = None
    status_since: date | None = None
    aci_signed_on: date | None = None
    population: int | None = None
    size_tier: str | None = None


class StatusChanged(_Tolerant):
    to_status: str
    effective_date: date
    aci_signed_on: date | None = None


class TerritoryUpdated(_Tolerant):
    population: int
    size_tier: str | None = None
