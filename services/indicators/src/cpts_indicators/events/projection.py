"""Projections of the registry's, funding's and documents' events. Each handler runs in the
consumer's transaction (it does not commit; the inbox runner commits with the event id).

- registry: name, territory, size tier, status and the first ACI signature of each CPTS;
- funding: each mission's fixed part and variable maximum per CPTS and year, from
  ``envelope.computed`` (a changed variable maximum republishes the achievement, unless the
  year is frozen; the variable part earned is funding's to apply);
- documents: the documents received per CPTS, and their verdict, for evidence checks.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_indicators.events import sources
from cpts_indicators.storage.models import EnvelopeLine, KnownDocument, RegistryCpts
from cpts_kit.events import CloudEvent
from cpts_kit.inbox import Handler
from cpts_kit.settings import ServiceSettings

log = logging.getLogger(__name__)

REGISTRY_GROUP = "indicators.registry"
FUNDING_GROUP = "indicators.funding"
DOCUMENTS_GROUP = "indicators.documents"


async def _cpts(session: AsyncSession, cpts_id: str, region: str, departement: str) -> RegistryCpts:
    row = await session.get(RegistryCpts, cpts_id)
    if row is None:
        row = RegistryCpts(cpts_id=cpts_id, region=region, departement=departement, name="", population=0)
        session.add(row)
    row.region, row.departement = region, departement
    return row


async def apply_registry_event(session: AsyncSession, event: CloudEvent) -> None:
    if event.type in (sources.REGISTERED, sources.UPDATED):
        snapshot = sources.CptsSnapshot.model_validate(event.data)
        row = await _cpts(session, snapshot.cpts_id, snapshot.region, snapshot.departement)
        row.name = snapshot.name or row.name
        if snapshot.population is not None:
            row.population = snapshot.population
        row.size_tier = snapshot.size_tier or row.size_tier
        row.status = snapshot.status or row.status
        row.aci_signed_on = row.aci_signed_on or snapshot.aci_signed_on
    elif event.type == sources.STATUS_CHANGED:
        change = sources.StatusChanged.model_validate(event.data)
        row = await _cpts(session, change.cpts_id, change.region, change.departement)
        row.status = change.to_status
        row.aci_signed_on = row.aci_signed_on or change.aci_signed_on
    elif event.type == sources.TERRITORY_UPDATED:
        territory = sources.TerritoryUpdated.model_validate(event.data)
        row = await _cpts(session, territory.cpts_id, territory.region, territory.departement)
        row.population = territory.population
        row.size_tier = territory.size_tier or row.size_tier
    else:
        log.debug("registry event %s not projected", event.type)
    await session.flush()


def funding_handler(settings: ServiceSettings) -> Handler:
    """The funding projection; it republishes achievements, hence needs the settings."""
    from cpts_indicators import commands  # the use cases build on the projection, not the reverse

    async def apply_funding_event(session: AsyncSession, event: CloudEvent) -> None:
        if event.type != sources.ENVELOPE_COMPUTED:
            log.debug("funding event %s not projected", event.type)
            return
        envelope = sources.EnvelopeComputed.model_validate(event.data)
        await _cpts(session, envelope.cpts_id, envelope.region, envelope.departement)
        existing = {
            row.mission: row
            for row in await session.scalars(
                select(EnvelopeLine).where(EnvelopeLine.cpts_id == envelope.cpts_id, EnvelopeLine.year == envelope.year)
            )
        }
        changed = False
        for line in envelope.lines:
            fixed = line.fixed + (line.snp_compensation or Decimal(0))
            row = existing.get(line.mission)
            if row is None:
                session.add(
                    EnvelopeLine(
                        cpts_id=envelope.cpts_id,
                        year=envelope.year,
                        mission=line.mission,
                        fixed=fixed,
                        variable_max=line.variable_max,
                    )
                )
                changed = True
            elif Decimal(row.variable_max) != line.variable_max or Decimal(row.fixed) != fixed:
                row.fixed, row.variable_max = fixed, line.variable_max
                changed = True
        await session.flush()
        if changed:
            await commands.envelope_changed(session, settings, envelope.cpts_id, envelope.year)

    return apply_funding_event


async def apply_documents_event(session: AsyncSession, event: CloudEvent) -> None:
    if event.type not in (sources.DOCUMENT_RECEIVED, sources.DOCUMENT_REJECTED):
        log.debug("documents event %s not projected", event.type)
        return
    document = sources.DocumentEvent.model_validate(event.data)
    row = await session.get(KnownDocument, document.document_id)
    verdict = "rejected" if event.type == sources.DOCUMENT_REJECTED else document.verdict
    if row is None:
        session.add(
            KnownDocument(
                document_id=document.document_id,
                cpts_id=document.cpts_id,
                fiscal_year=document.fiscal_year,
                type=document.type,
                verdict=verdict,
            )
        )
    else:
        row.verdict = verdict
    await session.flush()
