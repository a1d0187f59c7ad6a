"""What the ``cpts`` command needs to run the audit service (entry point ``cpts.services``)."""

from __future__ import annotations

from cpts_audit.demo import load_demo
from cpts_audit.events.payloads import ALL_PAYLOADS
from cpts_audit.settings import AuditSettings
from cpts_kit.service import ServiceSpec

spec = ServiceSpec(
    name="audit",
    settings=AuditSettings,
    app_factory="cpts_audit.main:create_app",
    migrations_package="cpts_audit.migrations",
    event_payloads=lambda: ALL_PAYLOADS,
    demo=load_demo,
)
