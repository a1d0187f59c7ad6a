"""What the ``cpts`` command needs to run the funding service (entry point ``cpts.services``)."""

from __future__ import annotations

from cpts_funding.demo import load_demo
from cpts_funding.events.payloads import ALL_PAYLOADS
from cpts_funding.settings import FundingSettings
from cpts_kit.service import ServiceSpec

spec = ServiceSpec(
    name="funding",
    settings=FundingSettings,
    app_factory="cpts_funding.main:create_app",
    migrations_package="cpts_funding.migrations",
    event_payloads=lambda: ALL_PAYLOADS,
    demo=load_demo,
)
