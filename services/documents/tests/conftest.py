from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from documents_helpers import DEFAULT_CPTS, Api, make_settings, seed

from cpts_documents.main import create_app
from cpts_documents.service import spec
from cpts_kit.db import Database
from cpts_kit.testing import serve_api


async def _seed_default(db: Database) -> None:
    await seed(db, DEFAULT_CPTS)


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The documents service on a fresh database of each backend, without its relay (no
    broker), its projection seeded with two CPTS through the registry consumer's handler."""
    settings = make_settings(database_url, tmp_path)
    async with serve_api(spec, settings, create_app, prepare=_seed_default, api_class=Api) as running:
        yield running
