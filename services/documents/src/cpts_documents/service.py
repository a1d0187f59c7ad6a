"""What the ``cpts`` command needs to run the documents service (entry point ``cpts.services``)."""

from __future__ import annotations

from cpts_documents.events.payloads import ALL_PAYLOADS
from cpts_documents.settings import DocumentsSettings
from cpts_kit.service import ServiceSpec

spec = ServiceSpec(
    name="documents",
    settings=DocumentsSettings,
    app_factory="cpts_documents.main:create_app",
    migrations_package="cpts_documents.migrations",
    event_payloads=lambda: ALL_PAYLOADS,
)
