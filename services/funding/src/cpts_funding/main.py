"""The funding service's FastAPI app."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from cpts_funding.api import (
    analytics,
    declarations,
    envelopes,
    exports,
    flows,
    funders,
    parameters,
    reallocations,
    simulations,
)
from cpts_funding.events import peers
from cpts_funding.events.projection import GROUP_ID, TOPIC, apply_registry_event
from cpts_funding.settings import FundingSettings
from cpts_kit.app import create_service_app
from cpts_kit.db import Database
from cpts_kit.inbox import EventConsumer
from cpts_kit.settings import ServiceSettings

DESCRIPTION = """\
Who pays what to which CPTS, for which mission: funders by category (ACI, FIR, collectivités,
State, European funds, private companies, pharmaceutical laboratories, foundations, own
resources), allocations, payments and recoveries (corrections are reversals, never edits),
the funding sources each CPTS declares, the theoretical ACI envelope of each CPTS and year
from versioned parameters and policy levers, payment schedules, fungibility requests, and
analytics by territory. ACI money goes only to ACI signatories (from the registry's events).

The shipped ACI parameters are an **illustrative** set (`illustrative: true`), not the
official per-mission split, until an administrator loads the official values. Amounts are
decimal strings with two decimals. Every answer is scoped to the caller's territory; errors
are RFC 9457 problem+json. Events: `cpts.funding.events` (CloudEvents).
"""


def registry_consumers(db: Database, settings: ServiceSettings) -> Sequence[EventConsumer]:
    """The registry projection, spending statements (documents) and validated achievements
    (indicators), each its own consumer group."""
    return [
        EventConsumer(db, settings, group_id=GROUP_ID, topics=[TOPIC], handler=apply_registry_event),
        EventConsumer(
            db, settings, group_id=peers.DOCUMENTS_GROUP, topics=[peers.DOCUMENTS_TOPIC], handler=peers.apply_spending
        ),
        EventConsumer(
            db,
            settings,
            group_id=peers.INDICATORS_GROUP,
            topics=[peers.INDICATORS_TOPIC],
            handler=peers.achievement_handler(settings),
        ),
    ]


def create_app(settings: FundingSettings | None = None, *, background: bool = True) -> FastAPI:
    return create_service_app(
        settings or FundingSettings(),
        title="CPTS funding",
        description=DESCRIPTION,
        version="1.0.0",
        routers=[
            funders.router,
            flows.router,
            declarations.router,
            envelopes.router,
            reallocations.router,
            parameters.router,
            analytics.router,
            exports.router,
            simulations.router,
        ],
        consumers=registry_consumers,
        background=background,
    )
