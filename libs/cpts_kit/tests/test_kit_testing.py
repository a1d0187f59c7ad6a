"""The access-matrix machinery of ``cpts_kit.testing`` fails when it should: a refused request
that changed something, a status that is not the table's, an action left without a probe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends
from kit_helpers import make_settings

from cpts_kit.access import NATIONAL, AccessTable, Permission
from cpts_kit.app import create_service_app
from cpts_kit.auth import Principal, Role, current_principal
from cpts_kit.testing import Api, Probe, assert_access, eventually, standard_callers

TABLE = AccessTable("kittest", [Permission("thing.write", NATIONAL, "National roles write things.")])
CALLERS = {
    c.label: c for c in standard_callers(region="94", departement="2A", other_region="11", other_departement="75")
}


def test_probe_expectations_follow_the_table_and_the_territory() -> None:
    probe = Probe("POST", "/things", "cpts-1", ok=201)
    expected = {label: probe.expected(TABLE, "thing.write", caller) for label, caller in CALLERS.items()}
    assert expected == {
        "cnam": 201,
        "dgos": 201,
        "auditor": 403,
        "integrator": 403,
        "ars-inside": 403,
        "ars-outside": 404,
        "cpam-inside": 403,
        "cpam-outside": 404,
        "cpts-inside": 403,
        "cpts-outside": 404,
    }
    assert CALLERS["cpts-inside"].claims_for("cpts-1") == {"cpts": "cpts-1"}


async def _api(tmp_path: Path, leaky: bool) -> tuple[Api, list[str], Any]:
    written: list[str] = []
    router = APIRouter()

    @router.post("/things", status_code=201)
    async def write(caller: Principal = Depends(current_principal)) -> dict[str, str]:  # noqa: B008
        if leaky:
            written.append(caller.subject)  # a bug: the write happens before the check
        TABLE.require(caller, "thing.write")
        if not leaky:
            written.append(caller.subject)
        return {}

    settings = make_settings(tmp_path)
    app = create_service_app(settings, title="t", description="t", version="0", routers=[router], background=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    return Api(client, settings), written, client


async def test_a_refused_request_that_changed_something_fails_the_matrix(tmp_path: Path) -> None:
    api, written, client = await _api(tmp_path, leaky=True)

    async def state() -> list[str]:
        return list(written)

    async with client:
        probes = {"thing.write": Probe("POST", "/things", ok=201)}
        await assert_access(api, TABLE, probes, CALLERS["cnam"], state=state)
        with pytest.raises(AssertionError, match="refused \\(403\\) but the state changed"):
            await assert_access(api, TABLE, probes, CALLERS["auditor"], state=state)


async def test_a_wrong_status_or_a_missing_probe_fails_the_matrix(tmp_path: Path) -> None:
    api, written, client = await _api(tmp_path, leaky=False)

    async def state() -> list[str]:
        return list(written)

    async with client:
        with pytest.raises(AssertionError, match="expected 200"):
            await assert_access(api, TABLE, {"thing.write": Probe("POST", "/things")}, CALLERS["dgos"], state=state)
        with pytest.raises(AssertionError, match="no probe for"):
            await assert_access(api, TABLE, {}, CALLERS["dgos"], state=state)
        assert Role.CNAM in TABLE.roles("thing.write")


async def test_eventually_returns_how_long_it_waited_and_fails_past_its_cap() -> None:
    calls = 0

    async def third_time() -> bool:
        nonlocal calls
        calls += 1
        return calls >= 3

    waited = await eventually(third_time, "the third call", interval=0.01)
    assert calls == 3 and 0.02 <= waited < 5

    async def never() -> bool:
        return False

    with pytest.raises(AssertionError, match=r"never happened within 0\.05s: nothing"):
        await eventually(never, "nothing", cap_seconds=0.05, interval=0.01)
