"""Indicators settings: ``CPTS_INDICATORS_*`` variables, falling back to the shared ``CPTS_*`` ones."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from cpts_kit.settings import ServiceSettings


class IndicatorsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CPTS_INDICATORS_", extra="ignore")
    service_name: ClassVar[str] = "indicators"
    default_port: ClassVar[int] = 8004

    # The demo loader waits for the registry's and funding's demos to reach the projections.
    demo_wait_seconds: float = 600.0
    demo_poll_seconds: float = 1.0
    demo_settle_polls: int = 10  # the counts must stay the same this many polls in a row
    demo_min_signatories: int = 700
