from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from audit_helpers import Api, make_settings

from cpts_audit.main import create_app
from cpts_audit.service import spec
from cpts_kit.testing import serve_api


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The audit service on a fresh database of each backend, without its relay, consumers or
    evaluator (no broker): the tests project events with the consumer's own handler."""
    async with serve_api(spec, make_settings(database_url, tmp_path), create_app, api_class=Api) as running:
        yield running
