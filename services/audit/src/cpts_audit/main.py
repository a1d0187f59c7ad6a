"""The audit service's FastAPI app."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from cpts_audit.api import findings, reports, risk, rules
from cpts_audit.evaluator import evaluator
from cpts_audit.events.projection import apply_event
from cpts_audit.events.readers import GROUP_ID, TOPICS
from cpts_audit.settings import AuditSettings
from cpts_kit.app import create_service_app
from cpts_kit.db import Database
from cpts_kit.inbox import EventConsumer
from cpts_kit.settings import ServiceSettings

DESCRIPTION = """\
Was the money spent as declared? The audit keeps its own projections of the registry, funding,
documents and indicators events, runs named rules (each with its rationale and versioned
parameters) that cross-check the funding sources each CPTS declares against the payments and
the accounts it transmits, and raises findings with their evidence (event, flow, declaration
and document ids, FEC line numbers and labels). Findings have a workflow (open → acknowledged →
resolved or dismissed, with reasons); each CPTS has a risk score that lists its contributions.
`POST /v1/replay` rebuilds everything from the topics. Every answer is scoped to the caller's
territory; errors are RFC 9457 problem+json. Events: `cpts.audit.events` (CloudEvents).
"""


def projection_consumers(db: Database, settings: ServiceSettings) -> Sequence[EventConsumer]:
    return [EventConsumer(db, settings, group_id=GROUP_ID, topics=list(TOPICS), handler=apply_event)]


def create_app(settings: AuditSettings | None = None, *, background: bool = True) -> FastAPI:
    settings = settings or AuditSettings()
    return create_service_app(
        settings,
        title="CPTS audit",
        description=DESCRIPTION,
        version="1.0.0",
        routers=[findings.router, risk.router, reports.router, rules.router],
        consumers=projection_consumers,
        tasks=[evaluator(settings)],
        background=background,
    )
