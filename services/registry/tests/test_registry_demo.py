"""The demo registry reproduces the national figures of reference/national_figures.md."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from registry_helpers import Api, make_settings

from cpts_kit.service import upgrade
from cpts_registry.demo import SEED, build_plan, load_demo
from cpts_registry.main import create_app
from cpts_registry.refdata import load_reference
from cpts_registry.service import spec


@pytest.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Api]:
    folder: Path = tmp_path_factory.mktemp("demo")
    settings = make_settings(f"sqlite+aiosqlite:///{folder / 'registry.db'}", folder)
    await upgrade(spec, settings.database_url)
    assert (await load_demo(settings)).startswith("demo data loaded")
    assert (await load_demo(settings)).startswith("demo data already there")  # loading twice changes nothing
    app = create_app(settings, background=False)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://r") as client:
        yield Api(client, settings)


async def all_cpts(api: Api) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    while True:
        page = (await api.call("GET", "/v1/cpts", params={"limit": 500, "offset": len(items)})).json()
        items += page["items"]
        if len(items) >= page["total"]:
            return items


async def test_counts_and_statuses_match_may_2025(demo: Api) -> None:
    registry = await all_cpts(demo)
    statuses = Counter(c["status"] for c in registry)
    assert len(registry) >= 800
    assert statuses["aci_signed"] == 700
    assert statuses["health_project_validated"] == 24
    assert 80 <= statuses["intention_letter_signed"] <= 100  # the Senate counts 85
    assert {c["departement"] for c in registry} >= set(load_reference().departements)  # every département


async def test_signatures_follow_the_national_curve(demo: Api) -> None:
    signed = sorted(str(c["aci_signed_on"]) for c in await all_cpts(demo) if c["aci_signed_on"])
    by_end_of = {year: sum(d <= f"{year}-12-31" for d in signed) for year in (2021, 2022, 2023)}
    assert abs(by_end_of[2021] - 173) <= 3
    assert abs(by_end_of[2022] - 384) <= 3  # the 384 signatories paid in 2022
    assert abs(by_end_of[2023] - 508) <= 3  # the 508 paid in 2023
    assert signed[-1] <= "2025-05-31"


async def test_uncovered_shares_are_the_senate_ones(demo: Api) -> None:
    for region, share in (("94", 0.7893), ("28", 0.2658), ("24", 0.0168)):
        coverage = (await demo.call("GET", "/v1/coverage", params={"region": region})).json()
        assert abs(coverage["uncovered_share"] - share) < 0.001, region
    nation = (await demo.call("GET", "/v1/coverage")).json()
    assert 5_200_000 <= nation["uncovered_population"] <= 5_600_000  # "about 5.4 million"
    assert nation["active_cpts"] == 814


async def test_tiers_and_members_are_plausible(demo: Api) -> None:
    registry = await all_cpts(demo)
    tiers = Counter(c["size_tier"] for c in registry if c["status"] == "aci_signed")
    assert set(tiers) == {"T1", "T2", "T3", "T4"}
    signed = next(c for c in registry if c["status"] == "aci_signed" and c["size_tier"] == "T3")
    members = (await demo.call("GET", f"/v1/cpts/{signed['id']}/members")).json()
    assert members and all(m["total"] > 0 for m in members)
    assert max(m["counts"].get("infirmier", 0) for m in members) > 0
    governance = (await demo.call("GET", f"/v1/cpts/{signed['id']}/governance")).json()
    assert governance["board"][0]["role"] == "president"


def test_the_plan_is_deterministic() -> None:
    first, _ = build_plan(load_reference(), SEED)
    second, _ = build_plan(load_reference(), SEED)
    assert [[c.code for c in t.communes] for t in first] == [[c.code for c in t.communes] for t in second]
