"""Indicators settings: ``CPTS_INDICATORS_*`` variables, falling back to the shared ``CPTS_*`` ones."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from cpts_kit.settings import ServiceSettings


class IndicatorsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CPTS_INDICATORS_", extra="ignore")
    service_name: ClassVar[str] = "indicators"
    default_port: ClassVar[int] = 8004

    # The demo loader waits for the registry's and funding's demos to reach the projections:
    # a bounded wait (`cpts run` must be ready in well under two minutes), then it says what
    # it found. Funding's relay publishes in batches: the counts must hold for a few polls.
    demo_wait_seconds: float = 60.0
    demo_poll_seconds: float = 0.5
    demo_settle_polls: int = 6  # the counts must stay the same this many polls in a row
    demo_min_signatories: int = 700
