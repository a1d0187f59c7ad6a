from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from registry_helpers import Api, make_settings

from cpts_kit.testing import serve_api
from cpts_registry.main import create_app
from cpts_registry.service import spec


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The registry on a fresh database of each backend, without its relay (no broker)."""
    async with serve_api(spec, make_settings(database_url, tmp_path), create_app) as running:
        yield running
