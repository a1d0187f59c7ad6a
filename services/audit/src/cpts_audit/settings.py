"""Audit settings: ``CPTS_AUDIT_*`` variables, falling back to the shared ``CPTS_*`` ones."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from cpts_kit.settings import ServiceSettings


class AuditSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CPTS_AUDIT_", extra="ignore")
    service_name: ClassVar[str] = "audit"
    default_port: ClassVar[int] = 8005

    # The evaluator re-runs the rules of the CPTS whose facts changed, this often.
    evaluation_interval_seconds: float = 0.5
    # The demo loader waits for the other services (see demo.py).
    demo_wait_seconds: float = 600.0
    demo_poll_seconds: float = 2.0
    # Where the demo finds the other services' public APIs.
    demo_funding_url: str = "http://127.0.0.1:8002"
    demo_documents_url: str = "http://127.0.0.1:8003"
    demo_registry_url: str = "http://127.0.0.1:8001"
