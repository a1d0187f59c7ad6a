"""The access matrix, driven by ``cpts_funding.access.ACCESS``: every endpoint × every role ×
inside/outside the caller's territory × every funder category where it applies. The expected
status comes from the table (a role it does not list: 403) and from the territory (a path naming
another territory's resource: 404; a body naming another territory's CPTS: 422); a refused
request changes nothing (row counts and the outbox). Every action of the table is exercised."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from funding_helpers import AJACCIO, CAEN, PARIS, Api
from sqlalchemy import func, select

from cpts_funding.access import ACCESS, flow_action
from cpts_funding.domain.categories import FunderCategory
from cpts_funding.storage.models import (
    Achievement,
    ContractMission,
    Declaration,
    Flow,
    Funder,
    PolicyVersion,
    Reallocation,
)
from cpts_kit.auth import Role
from cpts_kit.outbox import OutboxEvent
from cpts_kit.testing import caller_id, create_postgres_database, drop_postgres_database

ROLES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("cnam", {}, {AJACCIO, PARIS, CAEN}),
    ("dgos", {}, {AJACCIO, PARIS, CAEN}),
    ("auditor", {}, {AJACCIO, PARIS, CAEN}),
    ("integrator", {}, {AJACCIO, PARIS, CAEN}),
    ("ars", {"region": "94"}, {AJACCIO}),
    ("ars", {"region": "11"}, {PARIS}),
    ("cpam", {"departement": "2A"}, {AJACCIO}),
    ("cpam", {"departement": ["2B", "75"]}, {PARIS}),
    ("cpts", {"cpts": AJACCIO}, {AJACCIO}),
]
SIGNATORIES = (AJACCIO, PARIS)
DEPARTEMENT_OF = {AJACCIO: "2A", PARIS: "75", CAEN: "14"}
REGION_OF = {AJACCIO: "94", PARIS: "11", CAEN: "28"}
TABLES = (Flow, Funder, Declaration, Reallocation, Achievement, ContractMission, PolicyVersion, OutboxEvent)


async def counts(api: Api) -> dict[str, int]:
    """The row count of every table, in one statement (one round trip before and after each
    refused request instead of one per table)."""
    columns = []
    for model in TABLES:
        columns.append(select(func.count()).select_from(model).scalar_subquery().label(model.__name__))
    async with api.db.sessionmaker() as session:
        row = (await session.execute(select(*columns))).one()
    return {name: int(value or 0) for name, value in row._mapping.items()}


@dataclass
class Matrix:
    api: Api
    role: str
    claims: dict[str, Any]
    sees: set[str]
    funders: dict[FunderCategory, str]
    covered: set[str]
    checked: int = 0

    @property
    def caller(self) -> Role:
        return Role(self.role)

    def allowed(self, action: str) -> bool:
        return ACCESS.allows(self.caller, action)

    async def check(
        self,
        action: str,
        method: str,
        url: str,
        success: int,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        outside: int | None = None,
        before_role: Callable[[], int | None] | None = None,
    ) -> None:
        """``outside``: the status when the resource is in another territory (None: inside)."""
        self.covered.add(action)
        expected = success
        first = before_role() if before_role else None
        if first is not None:
            expected = first
        elif not self.allowed(action):
            expected = 403
        elif outside is not None:
            expected = outside
        before = await counts(self.api) if expected >= 400 else {}
        answer = await self.api.call(method, url, role=self.role, claims=self.claims, json=body, params=params)
        assert answer.status_code == expected, f"{self.role} {method} {url} ({action}): {answer.text[:300]}"
        if expected >= 400:
            assert answer.headers["content-type"] == "application/problem+json"
            assert await counts(self.api) == before, f"{method} {url} changed something while refused"
        self.checked += 1


async def funders_of_every_category(api: Api) -> dict[FunderCategory, str]:
    found = {}
    for category in FunderCategory:
        answer = await api.call("POST", "/v1/funders", json={"name": f"Funder {category.value}", "category": category})
        assert answer.status_code == 201, answer.text
        found[category] = answer.json()["id"]
    return found


def funder_inside(role: str, claims: dict[str, Any], cpts_id: str) -> bool:
    """Whether the département of ``cpts_id`` lies in the caller's territory (for a funder)."""
    if role in {"cnam", "dgos"}:
        return True
    if role == "ars":
        return bool(claims["region"] == REGION_OF[cpts_id])
    if role == "cpam":
        deps = claims["departement"]
        return DEPARTEMENT_OF[cpts_id] in ([deps] if isinstance(deps, str) else deps)
    return False


def flow_body(api: Api, funder_id: str, category: FunderCategory, cpts_id: str) -> dict[str, Any]:
    aci = category is FunderCategory.ACI
    return api.flow(
        "aci",
        funder_id=funder_id,
        cpts_id=cpts_id,
        mission="prevention" if aci else "functioning",
        part="fixed" if aci else "not_applicable",
        amount="10.00",
    )


async def recorded_flow(api: Api, funder_id: str, category: FunderCategory, cpts_id: str) -> str:
    writer = "cnam" if ACCESS.allows(Role.CNAM, flow_action(category)) else "dgos"
    answer = await api.call("POST", "/v1/flows", role=writer, json=flow_body(api, funder_id, category, cpts_id))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


# The SQLite leg runs every role (so every cell of the matrix); the PostgreSQL leg runs a
# representative subset: the decisions (role table, territory, funder category) are taken in
# Python and are the same on both backends, while what differs by backend (constraints, the
# SIREN uniqueness 409, JSON and list claims in scope clauses, transactions left untouched by
# a refusal) is exercised by a national writer, a territorial writer of each payer (ARS: FIR,
# CPAM with a list of départements: ACI) and a CPTS. This keeps the suite within CI's budget.
POSTGRES_ROLES = {"cnam-", "ars-94", "cpam-['2B', '75']", "cpts-" + AJACCIO}


def _cells() -> list[Any]:
    cells = []
    for role, claims, sees in ROLES:
        label = caller_id(role, claims)
        for backend in ("sqlite", "postgres"):
            if backend == "postgres" and label not in POSTGRES_ROLES:
                continue
            cells.append(pytest.param(backend, role, claims, sees, id=f"{backend}-{label}"))
    return cells


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """The cell's backend (this module's own cells replace the kit's sqlite × postgres)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
        return
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.mark.parametrize(("backend", "role", "claims", "sees"), _cells())
async def test_every_endpoint_every_role_inside_and_outside(
    seeded: Api, backend: str, role: str, claims: dict[str, Any], sees: set[str]
) -> None:
    api = seeded
    matrix = Matrix(api, role, claims, sees, await funders_of_every_category(api), set())
    check: Callable[..., Awaitable[None]] = matrix.check

    # Reference data and funders.
    await check("reference.read", "GET", "/v1/missions", 200)
    await check("reference.read", "GET", "/v1/funder-categories", 200)
    await check("funder.read", "GET", "/v1/funders", 200)
    await check("funder.read", "GET", f"/v1/funders/{matrix.funders[FunderCategory.PHARMA]}", 200)
    await check("funder.create:national", "POST", "/v1/funders", 201, body={"name": "Lab", "category": "pharma"})
    for cpts_id in (AJACCIO, PARIS, CAEN):
        departement = DEPARTEMENT_OF[cpts_id]
        inside = funder_inside(role, claims, cpts_id)
        body = {"name": f"Département {departement}", "category": "local_departement", "departement": departement}
        await check("funder.create:territorial", "POST", "/v1/funders", 201, body=body, outside=None if inside else 403)
    # A SIREN already used: 409, without naming the funder that holds it.
    if matrix.allowed("funder.create:national"):
        twice = await api.call(
            "POST",
            "/v1/funders",
            role=role,
            claims=claims,
            json={"name": "Bis", "category": "aci", "siren": "180035024"},
        )
        assert twice.status_code == 409 and api.funders["aci"] not in twice.text

    # Flows: each category's money, inside and outside the territory.
    for category, funder_id in matrix.funders.items():
        for cpts_id in SIGNATORIES:
            outside = None if cpts_id in sees else 422
            await check(
                flow_action(category),
                "POST",
                "/v1/flows",
                201,
                body=flow_body(api, funder_id, category, cpts_id),
                outside=outside,
            )
            # A reversal follows the flow's rule (and another territory's flow is not found).
            flow_id = await recorded_flow(api, funder_id, category, cpts_id)

            def reversal_gate(cpts_id: str = cpts_id) -> int | None:
                if not matrix.allowed("flow.read"):
                    return 403
                return 404 if cpts_id not in sees else None

            await check(
                flow_action(category),
                "POST",
                f"/v1/flows/{flow_id}/reversal",
                201,
                body={"date": "2023-04-01", "reason": "test"},
                before_role=reversal_gate,
            )
            await check("flow.read", "GET", f"/v1/flows/{flow_id}", 200, outside=None if cpts_id in sees else 404)
    await check("flow.read", "GET", "/v1/flows", 200)
    await check("flow.export", "GET", "/v1/exports/flows.csv", 200)

    # Declarations, envelopes, contracts, achievements, reallocations.
    for cpts_id in (AJACCIO, PARIS, CAEN):
        inside = cpts_id in sees
        declaration = {
            "cpts_id": cpts_id,
            "fiscal_year": 2023,
            "sources": [{"category": "own_resources", "amount": "5"}],
        }
        await check(
            "declaration.submit", "POST", "/v1/declarations", 201, body=declaration, outside=None if inside else 422
        )
        ask = {
            "cpts_id": cpts_id,
            "year": 2023,
            "from_mission": "prevention",
            "to_mission": "access_to_care",
            "amount": "1",
        }
        await check("reallocation.request", "POST", "/v1/reallocations", 201, body=ask, outside=None if inside else 422)
        await check("envelope.read", "GET", f"/v1/cpts/{cpts_id}/envelopes/2023", 200, outside=None if inside else 404)
        await check("envelope.read", "GET", f"/v1/cpts/{cpts_id}/schedules/2023", 200, outside=None if inside else 404)
        await check("contract.read", "GET", f"/v1/cpts/{cpts_id}/contract", 200, outside=None if inside else 404)
    for cpts_id in SIGNATORIES:
        outside = None if cpts_id in sees else 404
        signed = "2021-03-15" if cpts_id == AJACCIO else "2020-01-10"
        contract = {"missions": {"access_to_care": signed, "care_pathways": signed, "prevention": signed}}
        await check("contract.set", "PUT", f"/v1/cpts/{cpts_id}/contract", 200, body=contract, outside=outside)
        rates = {"rates": {"prevention": "0.5"}}
        await check(
            "achievements.override", "PUT", f"/v1/cpts/{cpts_id}/achievements/2024", 200, body=rates, outside=outside
        )
    for cpts_id in (AJACCIO, PARIS):
        async with api.db.sessionmaker() as session:
            declaration_id = await session.scalar(select(Declaration.id).where(Declaration.cpts_id == cpts_id).limit(1))
            reallocation_id = await session.scalar(
                select(Reallocation.id).where(Reallocation.cpts_id == cpts_id).limit(1)
            )
        if declaration_id is not None:
            await check(
                "declaration.read",
                "GET",
                f"/v1/declarations/{declaration_id}",
                200,
                outside=None if cpts_id in sees else 404,
            )
        if reallocation_id is not None:
            await check(
                "reallocation.read",
                "GET",
                f"/v1/reallocations/{reallocation_id}",
                200,
                outside=None if cpts_id in sees else 404,
            )
    await check("declaration.read", "GET", "/v1/declarations", 200)
    await check("reallocation.read", "GET", "/v1/reallocations", 200)

    # Parameters, policy, analytics, reports, the simulator.
    await check("parameters.read", "GET", "/v1/parameters/aci", 200)
    await check("parameters.read", "GET", "/v1/parameters/policy/2023", 200)
    version = {
        "label": "Test",
        "effective_from": "2030-01-01",
        "source": "test",
        "tiers": [
            {
                "tier": "T1",
                "min_population": 0,
                "functioning": "1",
                "missions": {"prevention": {"fixed": "1", "variable": "1"}},
            }
        ],
    }
    await check("parameters.load", "PUT", f"/v1/parameters/aci/test-{role}", 201, body=version)
    await check(
        "policy.set", "PUT", "/v1/parameters/policy/2031", 200, body={"variable_share": "0.5", "reason": "test"}
    )
    await check("analytics.read", "GET", "/v1/analytics/funding", 200, params={"year": 2023})
    await check("analytics.read", "GET", "/v1/analytics/steering", 200, params={"year": 2023, "group_by": "mission"})
    await check("overlaps.read", "GET", "/v1/reports/aci-fir-overlaps", 200)
    await check("simulation.run", "POST", "/v1/simulations/aci", 200, body={"years": [2024]})

    assert matrix.covered == {p.action for p in ACCESS}, "an action of the table has no endpoint in the matrix"
