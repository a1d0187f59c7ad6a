"""The documents service's FastAPI app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import date

from fastapi import FastAPI

from cpts_documents import commands
from cpts_documents.api import accounts, completeness, documents
from cpts_documents.events.registry import apply_registry_event
from cpts_documents.settings import DocumentsSettings
from cpts_documents.storage.blobs import make_blob_store
from cpts_kit.app import BackgroundTask, create_service_app
from cpts_kit.db import Database
from cpts_kit.inbox import EventConsumer
from cpts_kit.settings import ServiceSettings

log = logging.getLogger(__name__)

DESCRIPTION = """\
Budget and accounting documents of the CPTS (Senate proposals 7, 9 and 11): intake from
accounting software (multipart or raw uploads, idempotent), the raw bytes kept exactly as
received, FEC validation as the tax administration defines it, an accounting summary in the
associations' chart of accounts (funders, expenses, reserves, dedicated funds, real estate,
flagged entries), spending per conventional mission, and completeness (what each CPTS owes,
by when, what is missing). Every answer is scoped to the caller's territory; errors are RFC
9457 problem+json. Events: `cpts.documents.events` (CloudEvents).
"""


def consumers(db: Database, settings: ServiceSettings) -> Sequence[EventConsumer]:
    return [
        EventConsumer(
            db, settings, group_id="documents.registry", topics=["cpts.registry.events"], handler=apply_registry_event
        )
    ]


def overdue_loop(settings: DocumentsSettings) -> BackgroundTask:
    """The periodic overdue check (also ``POST /v1/completeness/overdue-check`` and
    ``python -m cpts_documents.overdue``)."""

    async def overdue_check(db: Database, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with db.sessionmaker() as session:
                    _, sent = await commands.check_overdue(session, settings, date.today())
                    await session.commit()
                if sent:
                    log.info("overdue check: %d new overdue events", sent)
            except Exception as exc:  # the database may be busy or down: try again next time
                log.warning("overdue check failed: %s: %s", exc.__class__.__name__, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.overdue_check_interval_seconds)

    return overdue_check


def create_app(settings: DocumentsSettings | None = None, *, background: bool = True) -> FastAPI:
    settings = settings or DocumentsSettings()
    app = create_service_app(
        settings,
        title="CPTS documents",
        description=DESCRIPTION,
        version="1.0.0",
        routers=[documents.router, accounts.router, completeness.router],
        consumers=consumers,
        tasks=[overdue_loop(settings)] if settings.overdue_check_interval_seconds > 0 else [],
        background=background,
    )
    app.state.blob_store = make_blob_store(settings)
    return app
