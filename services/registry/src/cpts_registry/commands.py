"""The registry's use cases: each validates, changes state and enqueues its event in the
caller's transaction (the transactional outbox), then the caller commits.

They take plain inputs (the dataclasses below) and return the stored CPTS or their own result
types; the routers parse requests into these and shape the HTTP answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from cpts_kit.auth import Principal
from cpts_kit.outbox import enqueue
from cpts_kit.problems import Problem, field_error, invalid, not_found
from cpts_kit.settings import ServiceSettings
from cpts_registry.domain.identifiers import siret_problem
from cpts_registry.domain.lifecycle import Status, TransitionRefused, check_transition
from cpts_registry.domain.professions import BoardRole, Profession, is_health_profession
from cpts_registry.domain.tiers import SizeTier, size_tier
from cpts_registry.events import payloads
from cpts_registry.refdata import load_reference
from cpts_registry.storage.models import BoardMember, Cpts, MemberCount, StatusChange, TerritoryCommune


@dataclass(frozen=True)
class Registration:
    name: str
    siren: str
    region: str
    departement: str
    communes: list[str]
    intention_letter_signed_on: date
    siret: str | None = None
    finess: str | None = None
    legal_form: str = "association"
    attachment_cpam: str | None = None


@dataclass(frozen=True)
class Transition:
    to: Status
    effective_date: date
    reason: str | None = None


@dataclass(frozen=True)
class Members:
    cpts_id: str
    year: int
    counts: dict[str, int]
    total: int


@dataclass(frozen=True)
class BoardSeat:
    name: str
    role: str
    profession: str
    health_profession: bool = False


@dataclass(frozen=True)
class Governance:
    cpts_id: str
    board: list[BoardSeat] = field(default_factory=list)

    @property
    def non_health_members(self) -> int:
        return sum(not m.health_profession for m in self.board)


@dataclass(frozen=True)
class Territory:
    communes: list[str]
    population: int
    tier: SizeTier


def resolve_territory(codes: list[str], region: str) -> Territory:
    """Known communes of the CPTS's region only; PLM codes stand for their arrondissements."""
    ref = load_reference()
    expanded = ref.expand(codes)
    unknown = ref.unknown(expanded)
    if unknown:
        raise Problem(
            422,
            f"Unknown INSEE commune codes: {', '.join(unknown[:50])}",
            type_="/problems/unknown-communes",
            errors=[field_error("communes", f"unknown commune {c}", "unknown_commune") for c in unknown],
            unknown_communes=unknown,
        )
    outside = [c for c in expanded if ref.communes[c].region != region]
    if outside:
        raise Problem(
            422,
            f"Communes outside region {region}: {', '.join(outside[:50])}",
            type_="/problems/communes-outside-region",
            errors=[
                field_error("communes", f"commune {c} is not in region {region}", "outside_region") for c in outside
            ],
        )
    population = ref.population_of(expanded)
    return Territory(sorted(expanded), population, size_tier(population))


def check_place(region: str, departement: str) -> None:
    ref = load_reference()
    if region not in ref.regions:
        raise invalid("region", "unknown region", "unknown_region", detail=f"Unknown INSEE region code {region}")
    if ref.departement_region(departement) != region:
        raise invalid(
            "departement",
            f"not a département of region {region}",
            "departement_region_mismatch",
            detail=f"Département {departement} is not in region {region}",
        )


def where(cpts: Cpts) -> dict[str, str]:
    """The fields every registry event carries so consumers can scope it."""
    return {"cpts_id": cpts.id, "region": cpts.region, "departement": cpts.departement}


def snapshot_fields(cpts: Cpts) -> dict[str, object]:
    return {
        "cpts_id": cpts.id,
        "name": cpts.name,
        "siren": cpts.siren,
        "siret": cpts.siret,
        "finess": cpts.finess,
        "legal_form": cpts.legal_form,
        "region": cpts.region,
        "departement": cpts.departement,
        "attachment_ars": cpts.region,
        "attachment_cpam": cpts.attachment_cpam,
        "status": cpts.status,
        "status_since": cpts.status_since,
        "aci_signed_on": cpts.aci_signed_on,
        "population": cpts.population,
        "size_tier": cpts.size_tier,
    }


async def load_visible(session: AsyncSession, principal: Principal, cpts_id: str, *, full: bool = False) -> Cpts:
    """The CPTS if it exists and the caller's territory holds it; 404 otherwise (another
    territory's CPTS is indistinguishable from a missing one)."""
    query = select(Cpts).where(Cpts.id == cpts_id)
    if full:
        query = query.options(selectinload(Cpts.territory), selectinload(Cpts.history))
    cpts = await session.scalar(query)
    if cpts is None or not principal.sees(region=cpts.region, departement=cpts.departement, cpts_id=cpts.id):
        raise not_found("CPTS", cpts_id)
    return cpts


def authorise_place(principal: Principal, region: str, departement: str) -> None:
    """A known region and département, inside the caller's territory (403 otherwise): checked
    before anything else, an idempotent replay included."""
    check_place(region, departement)
    if not principal.sees(region=region, departement=departement, cpts_id=None):
        raise Problem(
            403,
            f"Region {region} / département {departement} is outside your territory",
            type_="/problems/outside-territory",
        )


async def register(
    session: AsyncSession, settings: ServiceSettings, principal: Principal, body: Registration, today: date
) -> Cpts:
    authorise_place(principal, body.region, body.departement)
    if body.intention_letter_signed_on > today:
        raise invalid("intention_letter_signed_on", "in the future", "future_date")
    existing = await session.scalar(select(Cpts.id).where(Cpts.siren == body.siren))
    if existing is not None:
        raise Problem(409, f"A CPTS with SIREN {body.siren} is already registered", type_="/problems/duplicate-siren")
    territory = resolve_territory(body.communes, body.region)
    cpts = Cpts(
        name=body.name,
        siren=body.siren,
        siret=body.siret,
        finess=body.finess,
        legal_form=body.legal_form,
        region=body.region,
        departement=body.departement,
        attachment_cpam=body.attachment_cpam or body.departement,
        status=Status.INTENTION_LETTER_SIGNED.value,
        status_since=body.intention_letter_signed_on,
        population=territory.population,
        size_tier=territory.tier.value,
    )
    cpts.history = [
        StatusChange(
            status=cpts.status, effective_date=cpts.status_since, reason="registration", recorded_by=principal.subject
        )
    ]
    cpts.territory = [TerritoryCommune(commune=c) for c in territory.communes]
    session.add(cpts)
    await session.flush()
    enqueue(session, settings, cpts.id, payloads.CptsRegistered(**snapshot_fields(cpts), communes=territory.communes))
    return cpts


async def patch(session: AsyncSession, settings: ServiceSettings, cpts: Cpts, changes: dict[str, object]) -> Cpts:
    """Apply the given identity attributes (plain values; a None clears an optional one)."""
    if not changes:
        return cpts
    for name in ("name", "siren", "legal_form", "attachment_cpam"):
        if name in changes and changes[name] is None:
            raise invalid(name, "may not be null", "null", detail=f"{name} cannot be removed")
    cpam = changes.get("attachment_cpam")
    if cpam is not None and load_reference().departement_region(str(cpam)) != cpts.region:
        raise invalid("attachment_cpam", "not in the CPTS's region", "outside_region")
    siren = str(changes.get("siren") or cpts.siren)
    if siren != cpts.siren:
        holder = await session.scalar(select(Cpts.id).where(Cpts.siren == siren, Cpts.id != cpts.id))
        if holder is not None:
            raise Problem(409, f"A CPTS with SIREN {siren} is already registered", type_="/problems/duplicate-siren")
    siret = changes.get("siret", cpts.siret)
    if siret is not None and (problem := siret_problem(str(siret), siren)):
        raise invalid("siret", problem, "invalid_siret", detail=problem)
    for name, value in changes.items():
        setattr(cpts, name, value)
    cpts.version += 1
    await session.flush()
    enqueue(session, settings, cpts.id, payloads.CptsUpdated(**snapshot_fields(cpts)))
    return cpts


async def transition(
    session: AsyncSession,
    settings: ServiceSettings,
    principal: Principal,
    cpts: Cpts,
    body: Transition,
    today: date,
) -> Cpts:
    current = Status(cpts.status)
    try:
        check_transition(current, body.to, cpts.status_since, body.effective_date, today)
    except TransitionRefused as refused:
        raise Problem(
            409,
            str(refused),
            type_="/problems/invalid-transition",
            current_status=current.value,
            allowed_transitions=[s.value for s in refused.allowed],
        ) from refused
    cpts.status = body.to.value
    cpts.status_since = body.effective_date
    if body.to is Status.ACI_SIGNED and cpts.aci_signed_on is None:
        cpts.aci_signed_on = body.effective_date
    cpts.version += 1
    session.add(
        StatusChange(
            cpts_id=cpts.id,
            status=body.to.value,
            effective_date=body.effective_date,
            reason=body.reason,
            recorded_by=principal.subject,
        )
    )
    await session.flush()
    enqueue(
        session,
        settings,
        cpts.id,
        payloads.CptsStatusChanged(
            **where(cpts),
            from_status=current,
            to_status=body.to,
            effective_date=body.effective_date,
            reason=body.reason,
            aci_signed_on=cpts.aci_signed_on,
        ),
    )
    return cpts


async def set_territory(session: AsyncSession, settings: ServiceSettings, cpts: Cpts, communes: list[str]) -> Territory:
    if cpts.status == Status.DISSOLVED.value:
        raise Problem(409, "A dissolved CPTS has no territory to change", type_="/problems/dissolved")
    territory = resolve_territory(communes, cpts.region)
    await session.execute(delete(TerritoryCommune).where(TerritoryCommune.cpts_id == cpts.id))
    session.add_all([TerritoryCommune(cpts_id=cpts.id, commune=c) for c in territory.communes])
    cpts.population = territory.population
    cpts.size_tier = territory.tier.value
    cpts.version += 1
    await session.flush()
    enqueue(
        session,
        settings,
        cpts.id,
        payloads.TerritoryUpdated(
            **where(cpts),
            communes=territory.communes,
            population=territory.population,
            size_tier=territory.tier,
        ),
    )
    return territory


async def report_members(
    session: AsyncSession, settings: ServiceSettings, cpts: Cpts, year: int, reported: dict[str, int]
) -> Members:
    counts = {p: n for p, n in sorted(reported.items()) if n > 0}
    await session.execute(delete(MemberCount).where(MemberCount.cpts_id == cpts.id, MemberCount.year == year))
    session.add_all([MemberCount(cpts_id=cpts.id, year=year, profession=p, count=n) for p, n in counts.items()])
    await session.flush()
    members = Members(cpts_id=cpts.id, year=year, counts=counts, total=sum(counts.values()))
    enqueue(
        session,
        settings,
        cpts.id,
        payloads.MembersReported(**where(cpts), year=year, counts=counts, total=members.total),
    )
    return members


async def members_of(session: AsyncSession, cpts: Cpts, year: int | None = None) -> list[Members]:
    query = select(MemberCount).where(MemberCount.cpts_id == cpts.id).order_by(MemberCount.year, MemberCount.profession)
    if year is not None:
        query = query.where(MemberCount.year == year)
    by_year: dict[int, dict[str, int]] = {}
    for row in await session.scalars(query):
        by_year.setdefault(row.year, {})[row.profession] = row.count
    return [Members(cpts_id=cpts.id, year=y, counts=c, total=sum(c.values())) for y, c in by_year.items()]


async def set_governance(
    session: AsyncSession, settings: ServiceSettings, cpts: Cpts, seats: list[BoardSeat]
) -> Governance:
    await session.execute(delete(BoardMember).where(BoardMember.cpts_id == cpts.id))
    board = [
        BoardSeat(m.name, m.role, m.profession, health_profession=is_health_profession(Profession(m.profession)))
        for m in seats
    ]
    session.add_all(
        [
            BoardMember(
                cpts_id=cpts.id,
                position=i,
                name=m.name,
                role=m.role,
                profession=m.profession,
                health_profession=m.health_profession,
            )
            for i, m in enumerate(board)
        ]
    )
    await session.flush()
    governance = Governance(cpts_id=cpts.id, board=board)
    enqueue(
        session,
        settings,
        cpts.id,
        payloads.GovernanceUpdated(
            **where(cpts),
            board=[
                payloads.BoardMemberData(
                    name=m.name,
                    role=BoardRole(m.role),
                    profession=Profession(m.profession),
                    health_profession=m.health_profession,
                )
                for m in board
            ],
            non_health_members=governance.non_health_members,
        ),
    )
    return governance


async def governance_of(session: AsyncSession, cpts: Cpts) -> Governance:
    rows = await session.scalars(
        select(BoardMember).where(BoardMember.cpts_id == cpts.id).order_by(BoardMember.position)
    )
    return Governance(
        cpts_id=cpts.id,
        board=[BoardSeat(r.name, r.role, r.profession, health_profession=r.health_profession) for r in rows],
    )


async def count_cpts(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Cpts)) or 0)
