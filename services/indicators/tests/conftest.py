from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from indicators_helpers import Api, make_settings

from cpts_indicators.main import create_app
from cpts_indicators.service import spec
from cpts_kit.service import upgrade


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The indicators service on a fresh database of each backend, without relay nor consumers
    (no broker): the projections are fed through the real handlers and inbox."""
    settings = make_settings(database_url, tmp_path)
    await upgrade(spec, database_url)
    app = create_app(settings, background=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://indicators") as client:
            yield Api(client, settings, app.state.db)


@pytest.fixture
async def seeded(api: Api) -> Api:
    await api.seed()
    return api
