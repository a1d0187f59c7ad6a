from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from funding_helpers import Api, make_settings

from cpts_funding.main import create_app
from cpts_funding.service import spec
from cpts_kit.service import upgrade


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The funding service on a fresh database of each backend, without relay nor consumers
    (no broker): the registry projection is fed through the real handler and inbox."""
    settings = make_settings(database_url, tmp_path)
    await upgrade(spec, database_url)
    app = create_app(settings, background=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://funding") as client:
            yield Api(client, settings, app.state.db)


@pytest.fixture
async def seeded(api: Api) -> Api:
    await api.seed_three()
    return api
