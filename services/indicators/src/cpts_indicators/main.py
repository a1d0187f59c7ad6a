"""The indicators service's FastAPI app."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from cpts_indicators.api import achievement, analytics, catalogue, dialogues, measurements, targets
from cpts_indicators.events.projection import (
    DOCUMENTS_GROUP,
    FUNDING_GROUP,
    REGISTRY_GROUP,
    apply_documents_event,
    apply_registry_event,
    funding_handler,
)
from cpts_indicators.events.sources import DOCUMENTS_TOPIC, FUNDING_TOPIC, REGISTRY_TOPIC
from cpts_indicators.settings import IndicatorsSettings
from cpts_kit.app import create_service_app
from cpts_kit.db import Database
from cpts_kit.inbox import EventConsumer
from cpts_kit.settings import ServiceSettings

DESCRIPTION = """\
Result indicators of the CPTS, as the Senate asked (report r25-032, P6-P8): a versioned
catalogue of indicators per conventional mission (the shipped one is **illustrative**, not the
official ACI list, until a national role loads a new version), targets per CPTS and year with
defaults from the size tier and maturity and bounded ARS/CPAM adjustments, measurements with
their evidence (documents received by the documents service, information-system extracts, or a
declaration only, which counts for half), achievement per indicator and mission and the
variable part earned against the ACI envelope, the annual dialogue de gestion whose validation
by the ARS and the CPAM freezes the year, and the "empty shell" signals for the audit.
Every answer is scoped to the caller's territory; errors are RFC 9457 problem+json.
Events: `cpts.indicators.events` (CloudEvents).
"""


def event_consumers(db: Database, settings: ServiceSettings) -> Sequence[EventConsumer]:
    return [
        EventConsumer(db, settings, group_id=REGISTRY_GROUP, topics=[REGISTRY_TOPIC], handler=apply_registry_event),
        EventConsumer(db, settings, group_id=FUNDING_GROUP, topics=[FUNDING_TOPIC], handler=funding_handler(settings)),
        EventConsumer(db, settings, group_id=DOCUMENTS_GROUP, topics=[DOCUMENTS_TOPIC], handler=apply_documents_event),
    ]


def create_app(settings: IndicatorsSettings | None = None, *, background: bool = True) -> FastAPI:
    return create_service_app(
        settings or IndicatorsSettings(),
        title="CPTS indicators",
        description=DESCRIPTION,
        version="1.0.0",
        routers=[
            catalogue.router,
            targets.router,
            measurements.router,
            achievement.router,
            dialogues.router,
            analytics.router,
        ],
        consumers=event_consumers,
        background=background,
    )
