"""What the ``cpts`` command knows of a service: each service package declares a
:class:`ServiceSpec` under the ``cpts.services`` entry-point group, so the CLI runs every
installed service without importing any of them by name."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from importlib import import_module, resources
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy import Connection, text

from cpts_kit.db import Database
from cpts_kit.events import EventPayload
from cpts_kit.settings import ServiceSettings


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    settings: type[ServiceSettings]
    app_factory: str  # "package.module:function", called with no argument
    migrations_package: str  # the package that holds the Alembic env.py and versions/
    event_payloads: Callable[[], list[type[EventPayload]]]
    demo: Callable[[ServiceSettings], Coroutine[Any, Any, str]] | None = None

    def create_app(self) -> FastAPI:
        module, _, func = self.app_factory.partition(":")
        app: FastAPI = getattr(import_module(module), func)()
        return app


def discover() -> list[ServiceSpec]:
    """The installed services in the platform's conventional order (registry first): demo
    loaders run in this order, since later services build on earlier services' events."""
    specs = [ep.load() for ep in entry_points(group="cpts.services")]
    return sorted(specs, key=lambda s: (s.settings.default_port, s.name))


def find(name: str) -> ServiceSpec:
    for spec in discover():
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in discover()) or "none"
    raise KeyError(f"no installed service named {name!r} (installed: {known})")


def alembic_config(spec: ServiceSpec, url: str) -> Config:
    config = Config()
    location = Path(str(resources.files(spec.migrations_package)))
    config.set_main_option("script_location", str(location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(spec: ServiceSpec, url: str, revision: str = "head") -> None:
    """Apply the service's migrations on its database (PostgreSQL or SQLite)."""
    db = Database(url)
    config = alembic_config(spec, url)

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    try:
        async with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Replicas starting together: one migrates, the others wait and find it done.
                await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": spec.name})
            await conn.run_sync(run)
    finally:
        await db.dispose()


def upgrade_sync(spec: ServiceSpec, url: str) -> None:
    asyncio.run(upgrade(spec, url))
