"""Audit settings: ``CPTS_AUDIT_*`` variables, falling back to the shared ``CPTS_*`` ones."""

from __future__ import annotations

import os
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
    demo_poll_seconds: float = 0.5
    # Done when the evaluator has had nothing to do for this long (events may still be in flight).
    demo_quiet_seconds: float = 4.0
    # Requests in flight at once to the other services (the documents service parses each FEC:
    # more than a few only queue on a small machine).
    demo_concurrency: int = 6
    # Where the demo finds the other services' public APIs (default: their own host and port
    # variables, as ``cpts run`` sets them, else the conventional ports).
    demo_registry_url: str = ""
    demo_funding_url: str = ""
    demo_documents_url: str = ""

    def model_post_init(self, __context: object) -> None:
        super().model_post_init(__context)
        for name, port in (("registry", 8001), ("funding", 8002), ("documents", 8003)):
            if not getattr(self, f"demo_{name}_url"):
                host = os.environ.get(f"CPTS_{name.upper()}_HOST", "127.0.0.1")
                host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104  (a listen address)
                port_ = os.environ.get(f"CPTS_{name.upper()}_PORT", str(port))
                setattr(self, f"demo_{name}_url", f"http://{host}:{port_}")
