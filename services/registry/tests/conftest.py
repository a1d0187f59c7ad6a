from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from registry_helpers import Api, make_settings

from cpts_kit.service import upgrade
from cpts_registry.main import create_app
from cpts_registry.service import spec


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The registry on a fresh database of each backend, without its relay (no broker)."""
    settings = make_settings(database_url, tmp_path)
    await upgrade(spec, database_url)
    app = create_app(settings, background=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
            yield Api(client, settings)
