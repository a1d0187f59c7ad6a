"""What the ``cpts`` command needs to run the indicators service (entry point ``cpts.services``)."""

from __future__ import annotations

from cpts_indicators.demo import load_demo
from cpts_indicators.events.payloads import ALL_PAYLOADS
from cpts_indicators.settings import IndicatorsSettings
from cpts_kit.service import ServiceSpec

spec = ServiceSpec(
    name="indicators",
    settings=IndicatorsSettings,
    app_factory="cpts_indicators.main:create_app",
    migrations_package="cpts_indicators.migrations",
    event_payloads=lambda: ALL_PAYLOADS,
    demo=load_demo,
)
