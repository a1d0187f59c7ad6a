from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from indicators_helpers import Api, make_settings

from cpts_indicators.main import create_app
from cpts_indicators.service import spec
from cpts_kit.testing import serve_api


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The indicators service on a fresh database of each backend, without relay nor consumers
    (no broker): the projections are fed through the real handlers and inbox."""
    async with serve_api(spec, make_settings(database_url, tmp_path), create_app, api_class=Api) as running:
        yield running


@pytest.fixture
async def seeded(api: Api) -> Api:
    await api.seed()
    return api
