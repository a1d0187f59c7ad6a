"""Idempotency keys belong to one caller's whole identity; pages have bounds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends
from kit_helpers import make_settings

from cpts_kit.app import create_service_app
from cpts_kit.auth import Principal, Role, issue_dev_token
from cpts_kit.db import Database
from cpts_kit.idempotency import Idempotency, IdempotencyRecord, scope_of
from cpts_kit.pagination import MAX_OFFSET, PageParams, page_params


@pytest.fixture
async def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'idem.db'}")
    async with database.engine.begin() as conn:
        await conn.run_sync(IdempotencyRecord.__table__.create)
    yield database  # type: ignore[misc]
    await database.dispose()


async def test_callers_whose_subjects_share_200_characters_do_not_share_keys(db: Database) -> None:
    common = "s" * 200
    first, second = Principal(common + "-alice", Role.CNAM), Principal(common + "-bob", Role.CNAM)
    async with db.sessionmaker() as session:
        idem = Idempotency("key-1", first, "POST /v1/things")
        assert await idem.replay(session, {"n": 1}) is None
        idem.remember(session, 201, {"id": "alice's thing"})
        await session.commit()
    async with db.sessionmaker() as session:
        assert await Idempotency("key-1", second, "POST /v1/things").replay(session, {"n": 1}) is None
        replay = await Idempotency("key-1", first, "POST /v1/things").replay(session, {"n": 1})
        assert replay is not None and replay.body == b'{"id":"alice\'s thing"}'
        assert replay.headers["Idempotent-Replayed"] == "true"


def test_the_scope_is_a_hash_of_the_whole_identity() -> None:
    principals = [
        Principal("agent", Role.ARS, region="94"),
        Principal("agent", Role.ARS, region="11"),
        Principal("agent", Role.CPAM, departements=frozenset({"2A"})),
        Principal("agent", Role.CPAM, departements=frozenset({"2A", "2B"})),
        Principal("agent", Role.CPTS, cpts_id="94"),
        Principal("agent", Role.CNAM),
        Principal("agent:cnam", Role.CNAM),
        Principal("x" * 5000, Role.CNAM),
        Principal("x" * 5000 + "y", Role.CNAM),
    ]
    scopes = [scope_of(p) for p in principals]
    assert len(set(scopes)) == len(principals)
    assert all(len(s) == 64 for s in scopes)  # fits the column whatever the subject's length
    assert scope_of(Principal("agent", Role.CPAM, departements=frozenset({"2B", "2A"}))) == scopes[3]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"offset": str(2**63)}, "offset"),
        ({"offset": str(MAX_OFFSET + 1)}, "offset"),
        ({"offset": "-1"}, "offset"),
        ({"limit": "0"}, "limit"),
        ({"limit": str(2**64)}, "limit"),
    ],
)
async def test_page_bounds_are_422_problems(tmp_path: Path, params: dict[str, str], field: str) -> None:
    router = APIRouter()

    @router.get("/things")
    async def things(page: Annotated[PageParams, Depends(page_params)]) -> dict[str, int]:
        return {"offset": page.offset}

    settings = make_settings(tmp_path)
    app = create_service_app(settings, title="t", description="t", version="0", routers=[router], background=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    token = issue_dev_token(settings, role="cnam")
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get("/things", params=params, headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 422
        assert answer.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in answer.json()["errors"]] == [field]
        deepest = await client.get("/things", params={"offset": str(MAX_OFFSET)})
        assert deepest.json() == {"offset": MAX_OFFSET}
