"""The audit's read side: findings, risk, the per-mission report, all scoped to the caller."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_audit.domain.facts import ZERO
from cpts_audit.domain.findings import ACTIVE, Severity
from cpts_audit.domain.risk import Contribution, points
from cpts_audit.storage import facts as fact_store
from cpts_audit.storage.models import Fact, Finding, FindingTransition, RiskScore
from cpts_kit.auth import Principal
from cpts_kit.missions import Mission
from cpts_kit.money import as_cents, from_cents, sum_cents
from cpts_kit.pagination import PageParams
from cpts_kit.problems import not_found


@dataclass(frozen=True)
class FindingFilters:
    cpts: str | None = None
    region: str | None = None
    departement: str | None = None
    rule: str | None = None
    severity: str | None = None
    status: str | None = None
    year: int | None = None


def _scope(caller: Principal) -> ColumnElement[bool]:
    return caller.scope_clause(region=Finding.region, departement=Finding.departement, cpts_id=Finding.cpts_id)


def _filtered(caller: Principal, filters: FindingFilters) -> Select[Finding]:
    query = select(Finding).where(_scope(caller))
    for column, value in (
        (Finding.cpts_id, filters.cpts),
        (Finding.region, filters.region),
        (Finding.departement, filters.departement),
        (Finding.rule, filters.rule),
        (Finding.severity, filters.severity),
        (Finding.status, filters.status),
        (Finding.fiscal_year, filters.year),
    ):
        if value is not None:
            query = query.where(column == value)
    return query


async def list_findings(
    session: AsyncSession, caller: Principal, filters: FindingFilters, page: PageParams
) -> tuple[list[Finding], int]:
    query = _filtered(caller, filters)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(Finding.fiscal_year.desc(), Finding.rule, Finding.cpts_id, Finding.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    return list(rows.all()), int(total)


async def summary(
    session: AsyncSession, caller: Principal, filters: FindingFilters
) -> list[tuple[str, str, str, int, Decimal]]:
    """(rule, severity, status, count, amount) in the caller's territory."""
    query = _filtered(caller, filters).subquery()
    rows = await session.execute(
        select(query.c.rule, query.c.severity, query.c.status, func.count(), sum_cents(as_cents(query.c.amount)))
        .group_by(query.c.rule, query.c.severity, query.c.status)
        .order_by(query.c.rule, query.c.severity, query.c.status)
    )
    return [(r, s, st, int(n), from_cents(cents)) for r, s, st, n, cents in rows.all()]


async def get_finding(session: AsyncSession, caller: Principal, finding_id: str) -> Finding:
    """The finding, or a 404 when it is missing or outside the caller's territory."""
    finding = await session.get(Finding, finding_id)
    if finding is None or not caller.sees(
        region=finding.region, departement=finding.departement, cpts_id=finding.cpts_id
    ):
        raise not_found("Finding", finding_id)
    return finding


async def history(session: AsyncSession, finding_id: str) -> list[FindingTransition]:
    rows = await session.scalars(
        select(FindingTransition).where(FindingTransition.finding_id == finding_id).order_by(FindingTransition.seq)
    )
    return list(rows.all())


async def contributions(session: AsyncSession, cpts_id: str) -> list[Contribution]:
    rows = (
        await session.scalars(
            select(Finding)
            .where(Finding.cpts_id == cpts_id, Finding.status.in_([s.value for s in ACTIVE]))
            .order_by(Finding.fiscal_year, Finding.rule, Finding.id)
        )
    ).all()
    return [
        Contribution(f.id, f.rule, Severity(f.severity), f.amount, points(Severity(f.severity), f.amount)) for f in rows
    ]


@dataclass(frozen=True)
class CptsRisk:
    cpts_id: str
    region: str
    departement: str
    name: str
    score: int
    contributions: list[Contribution]


async def cpts_risk(session: AsyncSession, caller: Principal, cpts_id: str) -> CptsRisk:
    known = await session.get(Fact, ("cpts", cpts_id))
    if known is None or not caller.sees(region=known.region, departement=known.departement, cpts_id=cpts_id):
        raise not_found("CPTS", cpts_id)
    parts = await contributions(session, cpts_id)
    return CptsRisk(
        cpts_id, known.region, known.departement, str(known.data.get("name", "")), sum(c.points for c in parts), parts
    )


async def ranking(
    session: AsyncSession, caller: Principal, region: str | None, departement: str | None, page: PageParams
) -> tuple[list[RiskScore], int]:
    query = select(RiskScore).where(
        caller.scope_clause(region=RiskScore.region, departement=RiskScore.departement, cpts_id=RiskScore.cpts_id),
        RiskScore.score > 0,
    )
    if region is not None:
        query = query.where(RiskScore.region == region)
    if departement is not None:
        query = query.where(RiskScore.departement == departement)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(
        query.order_by(RiskScore.score.desc(), RiskScore.cpts_id).limit(page.limit).offset(page.offset)
    )
    return list(rows.all()), int(total)


@dataclass
class MissionLine:
    mission: str
    theoretical: Decimal = ZERO
    aci_paid: Decimal = ZERO
    spent: Decimal = ZERO
    cpts_with_spending: set[str] = field(default_factory=set)


async def mission_report(
    session: AsyncSession, caller: Principal, year: int, region: str | None, departement: str | None
) -> tuple[list[MissionLine], int, int]:
    """Per mission: theoretical envelope vs ACI paid vs spent (spending statements).
    Also returns how many CPTS had an envelope and how many sent a spending statement."""
    query = select(Fact).where(
        Fact.kind.in_(["envelope", "flow", "spending"]),
        Fact.year == year,
        caller.scope_clause(region=Fact.region, departement=Fact.departement, cpts_id=Fact.cpts_id),
    )
    if region is not None:
        query = query.where(Fact.region == region)
    if departement is not None:
        query = query.where(Fact.departement == departement)
    lines = {m.value: MissionLine(m.value) for m in Mission}
    enveloped: set[str] = set()
    spenders: set[str] = set()
    for row in (await session.scalars(query)).all():
        if row.kind == "envelope":
            enveloped.add(row.cpts_id)
            for mission, amount in fact_store.envelope_of(row).by_mission.items():
                lines.setdefault(mission, MissionLine(mission)).theoretical += amount
        elif row.kind == "flow":
            flow = fact_store.flow_of(row)
            if flow.category == "aci":
                lines.setdefault(flow.mission, MissionLine(flow.mission)).aci_paid += flow.signed_received
        else:
            spenders.add(row.cpts_id)
            for mission, amount in fact_store.spending_of(row).by_mission.items():
                lines.setdefault(mission, MissionLine(mission)).spent += amount
                if amount:
                    lines.setdefault(mission, MissionLine(mission)).cpts_with_spending.add(row.cpts_id)
    return list(lines.values()), len(enveloped), len(spenders)
