"""Other services' events as the indicators service reads them: tolerant readers (only the
fields used, extra fields ignored), after ``contracts/events/<service>/*.json`` and the
contracts of this round. The service never imports another service's code."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from cpts_kit.money import Money

REGISTRY_TOPIC = "cpts.registry.events"
FUNDING_TOPIC = "cpts.funding.events"
DOCUMENTS_TOPIC = "cpts.documents.events"

REGISTERED = "fr.cpts.registry.cpts.registered.v1"
UPDATED = "fr.cpts.registry.cpts.updated.v1"
STATUS_CHANGED = "fr.cpts.registry.cpts.status_changed.v1"
TERRITORY_UPDATED = "fr.cpts.registry.territory.updated.v1"
ENVELOPE_COMPUTED = "fr.cpts.funding.envelope.computed.v1"
DOCUMENT_RECEIVED = "fr.cpts.documents.document.received.v1"
DOCUMENT_REJECTED = "fr.cpts.documents.document.rejected.v1"


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")

    cpts_id: str
    region: str
    departement: str


class CptsSnapshot(_Tolerant):
    """``cpts.registered`` and ``cpts.updated``."""

    name: str = ""
    status: str | None = None
    aci_signed_on: date | None = None
    population: int | None = None
    size_tier: str | None = None


class StatusChanged(_Tolerant):
    to_status: str
    aci_signed_on: date | None = None


class TerritoryUpdated(_Tolerant):
    population: int
    size_tier: str | None = None


class EnvelopeLine(BaseModel):
    model_config = ConfigDict(extra="ignore")

    mission: str
    fixed: Money
    snp_compensation: Money | None = None
    variable_max: Money


class EnvelopeComputed(_Tolerant):
    year: int
    lines: list[EnvelopeLine]


class DocumentEvent(_Tolerant):
    """``document.received`` and ``document.rejected``."""

    document_id: str
    type: str
    fiscal_year: int
    verdict: str = "rejected"
