"""The projection of the registry's events (``cpts.registry.events``): each CPTS's place
(region, département), name, status and board, for territorial scoping, completeness and flags.

A tolerant reader: the service's own models keep the fields it needs and ignore the others
(``extra="ignore"``), so the registry may add fields freely. Unknown event types, or versions
other than v1, are skipped. The handler runs inside the consumer's transaction and never commits.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_documents.storage.models import CptsProjection
from cpts_kit.events import CloudEvent

PREFIX = "fr.cpts.registry."


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RegistryPlace(_Tolerant):
    cpts_id: str
    region: str
    departement: str


class RegistrySnapshot(RegistryPlace):
    name: str | None = None
    siren: str | None = None
    attachment_cpam: str | None = None
    status: str | None = None
    status_since: date | None = None
    aci_signed_on: date | None = None


class RegistryStatusChange(RegistryPlace):
    to_status: str
    effective_date: date
    aci_signed_on: date | None = None


class RegistryBoardMember(_Tolerant):
    name: str
    profession: str


class RegistryGovernance(RegistryPlace):
    board: list[RegistryBoardMember] = []


async def _row(session: AsyncSession, place: RegistryPlace) -> CptsProjection:
    row = await session.get(CptsProjection, place.cpts_id)
    if row is None:
        row = CptsProjection(id=place.cpts_id, name="", region=place.region, departement=place.departement, board=[])
        session.add(row)
    row.region = place.region
    row.departement = place.departement
    return row


async def apply_registry_event(session: AsyncSession, event: CloudEvent) -> None:
    if not event.type.startswith(PREFIX) or not event.type.endswith(".v1"):
        return
    kind = event.type[len(PREFIX) : -len(".v1")]
    if kind in ("cpts.registered", "cpts.updated"):
        snapshot = RegistrySnapshot.model_validate(event.data)
        row = await _row(session, snapshot)
        for field in ("name", "siren", "attachment_cpam", "status", "status_since", "aci_signed_on"):
            value = getattr(snapshot, field)
            if value is not None or field == "aci_signed_on":
                setattr(row, field, value)
    elif kind == "cpts.status_changed":
        change = RegistryStatusChange.model_validate(event.data)
        row = await _row(session, change)
        row.status = change.to_status
        row.status_since = change.effective_date
        row.aci_signed_on = change.aci_signed_on
    elif kind == "governance.updated":
        governance = RegistryGovernance.model_validate(event.data)
        row = await _row(session, governance)
        row.board = [m.model_dump() for m in governance.board]
    elif kind in ("territory.updated", "members.reported"):
        await _row(session, RegistryPlace.model_validate(event.data))
    await session.flush()
