"""What the ``cpts`` command needs to run the registry (entry point ``cpts.services``)."""

from __future__ import annotations

from cpts_kit.service import ServiceSpec
from cpts_registry.demo import load_demo
from cpts_registry.events.payloads import ALL_PAYLOADS
from cpts_registry.settings import RegistrySettings

spec = ServiceSpec(
    name="registry",
    settings=RegistrySettings,
    app_factory="cpts_registry.main:create_app",
    migrations_package="cpts_registry.migrations",
    event_payloads=lambda: ALL_PAYLOADS,
    demo=load_demo,
)
