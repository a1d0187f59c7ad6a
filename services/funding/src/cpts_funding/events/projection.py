"""The registry projection: each CPTS's name, territory (region, département), population,
status and dated status history, kept from ``cpts.registry.events``. The handler runs in the
consumer's transaction (it does not commit; the inbox runner commits with the event id)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from cpts_funding.events import registry
from cpts_funding.storage.models import RegistryCpts, RegistryStatus
from cpts_kit.events import CloudEvent

log = logging.getLogger(__name__)

GROUP_ID = "funding.registry"
TOPIC = "cpts.registry.events"


async def _row(session: AsyncSession, cpts_id: str, region: str, departement: str) -> RegistryCpts:
    row = await session.get(RegistryCpts, cpts_id)
    if row is None:
        row = RegistryCpts(cpts_id=cpts_id, region=region, departement=departement, name="", population=0)
        session.add(row)
    row.region, row.departement = region, departement
    return row


async def apply_registry_event(session: AsyncSession, event: CloudEvent) -> None:
    if event.type in (registry.REGISTERED, registry.UPDATED):
        snapshot = registry.CptsSnapshot.model_validate(event.data)
        row = await _row(session, snapshot.cpts_id, snapshot.region, snapshot.departement)
        row.name = snapshot.name or row.name
        row.siren = snapshot.siren or row.siren
        if snapshot.population is not None:
            row.population = snapshot.population
        row.size_tier = snapshot.size_tier or row.size_tier
        row.aci_signed_on = snapshot.aci_signed_on or row.aci_signed_on
        if event.type == registry.REGISTERED and snapshot.status and snapshot.status_since:
            row.status, row.status_since = snapshot.status, snapshot.status_since
            session.add(
                RegistryStatus(cpts_id=row.cpts_id, status=snapshot.status, effective_date=snapshot.status_since)
            )
    elif event.type == registry.STATUS_CHANGED:
        change = registry.StatusChanged.model_validate(event.data)
        row = await _row(session, change.cpts_id, change.region, change.departement)
        row.status, row.status_since = change.to_status, change.effective_date
        row.aci_signed_on = change.aci_signed_on or row.aci_signed_on
        session.add(RegistryStatus(cpts_id=row.cpts_id, status=change.to_status, effective_date=change.effective_date))
    elif event.type == registry.TERRITORY_UPDATED:
        territory = registry.TerritoryUpdated.model_validate(event.data)
        row = await _row(session, territory.cpts_id, territory.region, territory.departement)
        row.population = territory.population
        row.size_tier = territory.size_tier or row.size_tier
    else:
        log.debug("registry event %s not projected", event.type)
    await session.flush()
