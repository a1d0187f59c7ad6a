from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from audit_helpers import Api, make_settings

from cpts_audit.main import create_app
from cpts_audit.service import spec
from cpts_kit.db import Database
from cpts_kit.service import upgrade


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The audit service on a fresh database of each backend, without its relay, consumers or
    evaluator (no broker): the tests project events with the consumer's own handler."""
    settings = make_settings(database_url, tmp_path)
    await upgrade(spec, database_url)
    db = Database(database_url)
    app = create_app(settings, background=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://audit") as client:
            yield Api(client, settings, db)
    await db.dispose()
