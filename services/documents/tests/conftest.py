from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from documents_helpers import DEFAULT_CPTS, Api, make_settings, seed

from cpts_documents.main import create_app
from cpts_documents.service import spec
from cpts_kit.db import Database
from cpts_kit.service import upgrade


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The documents service on a fresh database of each backend, without its relay (no
    broker), its projection seeded with two CPTS through the registry consumer's handler."""
    settings = make_settings(database_url, tmp_path)
    await upgrade(spec, database_url)
    db = Database(database_url)
    await seed(db, DEFAULT_CPTS)
    app = create_app(settings, background=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://documents") as client:
            yield Api(client, settings, db)
    await db.dispose()
