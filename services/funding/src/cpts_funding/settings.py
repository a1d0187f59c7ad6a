"""Funding settings: ``CPTS_FUNDING_*`` variables, falling back to the shared ``CPTS_*`` ones."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from cpts_kit.settings import ServiceSettings


class FundingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CPTS_FUNDING_", extra="ignore")
    service_name: ClassVar[str] = "funding"
    default_port: ClassVar[int] = 8002

    # The demo loader waits for the registry's demo to reach the projection (see demo.py).
    demo_wait_seconds: float = 120.0
    demo_poll_seconds: float = 1.0
    demo_min_signatories: int = 700
    # The funding analytics cost up to a second of CPU (700 envelopes): an answer is kept until
    # the next write of this process, and at most this long (other replicas' writes).
    analytics_cache_seconds: float = 60.0
