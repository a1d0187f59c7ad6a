"""The registry's use cases: each validates, changes state and enqueues its event in the
caller's transaction (the transactional outbox), then the caller commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from cpts_kit.auth import Principal
from cpts_kit.outbox import enqueue
from cpts_kit.problems import Problem, field_error, invalid, not_found
from cpts_kit.settings import ServiceSettings
from cpts_registry.api import schemas
from cpts_registry.domain.identifiers import siret_problem
from cpts_registry.domain.lifecycle import LABELS_FR, Status, TransitionRefused, check_transition, next_anniversary
from cpts_registry.domain.professions import is_health_profession
from cpts_registry.domain.tiers import SizeTier, size_tier
from cpts_registry.events import payloads
from cpts_registry.refdata import load_reference
from cpts_registry.storage.models import BoardMember, Cpts, MemberCount, StatusChange, TerritoryCommune


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


def summary(cpts: Cpts, today: date) -> schemas.CptsSummary:
    status = Status(cpts.status)
    return schemas.CptsSummary(
        id=cpts.id,
        name=cpts.name,
        siren=cpts.siren,
        siret=cpts.siret,
        finess=cpts.finess,
        legal_form=cpts.legal_form,
        region=cpts.region,
        departement=cpts.departement,
        attachment_ars=cpts.region,
        attachment_cpam=cpts.attachment_cpam,
        status=status,
        status_label=LABELS_FR[status],
        status_since=cpts.status_since,
        aci_signed_on=cpts.aci_signed_on,
        contract_anniversary=next_anniversary(cpts.aci_signed_on, today)
        if cpts.aci_signed_on and status in (Status.ACI_SIGNED, Status.SUSPENDED)
        else None,
        population=cpts.population,
        size_tier=SizeTier(cpts.size_tier),
        version=cpts.version,
    )


def detail(cpts: Cpts, today: date) -> schemas.CptsDetail:
    return schemas.CptsDetail(
        **summary(cpts, today).model_dump(),
        communes=sorted(t.commune for t in cpts.territory),
        status_history=[
            schemas.StatusEntry(status=Status(h.status), effective_date=h.effective_date, reason=h.reason)
            for h in cpts.history
        ],
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


async def register(
    session: AsyncSession, settings: ServiceSettings, principal: Principal, body: schemas.CptsCreate, today: date
) -> Cpts:
    check_place(body.region, body.departement)
    if not principal.sees(region=body.region, departement=body.departement, cpts_id=None):
        raise Problem(
            403,
            f"Region {body.region} / département {body.departement} is outside your territory",
            type_="/problems/outside-territory",
        )
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
        legal_form=body.legal_form.value,
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


async def patch(
    session: AsyncSession, settings: ServiceSettings, principal: Principal, cpts: Cpts, body: schemas.CptsPatch
) -> Cpts:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return cpts
    cpam = changes.get("attachment_cpam")
    if cpam is not None and load_reference().departement_region(cpam) != cpts.region:
        raise invalid("attachment_cpam", "not in the CPTS's region", "outside_region")
    if changes.get("siret") is not None and (problem := siret_problem(changes["siret"], cpts.siren)):
        raise invalid("siret", problem, "invalid_siret", detail=problem)
    for field in ("name", "legal_form", "attachment_cpam"):
        if field in changes and changes[field] is None:
            raise invalid(field, "may not be null", "null", detail=f"{field} cannot be removed")
    for field, value in changes.items():
        setattr(cpts, field, value.value if hasattr(value, "value") else value)
    cpts.version += 1
    await session.flush()
    enqueue(session, settings, cpts.id, payloads.CptsUpdated(**snapshot_fields(cpts)))
    return cpts


async def transition(
    session: AsyncSession,
    settings: ServiceSettings,
    principal: Principal,
    cpts: Cpts,
    body: schemas.TransitionRequest,
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


async def set_territory(
    session: AsyncSession, settings: ServiceSettings, cpts: Cpts, body: schemas.TerritoryRequest
) -> Territory:
    if cpts.status == Status.DISSOLVED.value:
        raise Problem(409, "A dissolved CPTS has no territory to change", type_="/problems/dissolved")
    territory = resolve_territory(body.communes, cpts.region)
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
    session: AsyncSession, settings: ServiceSettings, cpts: Cpts, year: int, body: schemas.MembersRequest
) -> schemas.MembersView:
    counts = {p: n for p, n in sorted(body.counts.items()) if n > 0}
    await session.execute(delete(MemberCount).where(MemberCount.cpts_id == cpts.id, MemberCount.year == year))
    session.add_all([MemberCount(cpts_id=cpts.id, year=year, profession=p.value, count=n) for p, n in counts.items()])
    await session.flush()
    view = schemas.MembersView(cpts_id=cpts.id, year=year, counts=counts, total=sum(counts.values()))
    enqueue(
        session,
        settings,
        cpts.id,
        payloads.MembersReported(
            **where(cpts),
            year=year,
            counts=counts,
            total=view.total,
        ),
    )
    return view


async def members_of(session: AsyncSession, cpts: Cpts, year: int | None = None) -> list[schemas.MembersView]:
    query = select(MemberCount).where(MemberCount.cpts_id == cpts.id).order_by(MemberCount.year, MemberCount.profession)
    if year is not None:
        query = query.where(MemberCount.year == year)
    by_year: dict[int, dict[str, int]] = {}
    for row in await session.scalars(query):
        by_year.setdefault(row.year, {})[row.profession] = row.count
    return [schemas.MembersView(cpts_id=cpts.id, year=y, counts=c, total=sum(c.values())) for y, c in by_year.items()]


async def set_governance(
    session: AsyncSession, settings: ServiceSettings, cpts: Cpts, body: schemas.GovernanceRequest
) -> schemas.GovernanceView:
    await session.execute(delete(BoardMember).where(BoardMember.cpts_id == cpts.id))
    board = [
        schemas.BoardMemberOut(**m.model_dump(), health_profession=is_health_profession(m.profession))
        for m in body.board
    ]
    session.add_all(
        [
            BoardMember(
                cpts_id=cpts.id,
                position=i,
                name=m.name,
                role=m.role.value,
                profession=m.profession.value,
                health_profession=m.health_profession,
            )
            for i, m in enumerate(board)
        ]
    )
    await session.flush()
    view = schemas.GovernanceView(
        cpts_id=cpts.id, board=board, non_health_members=sum(not m.health_profession for m in board)
    )
    enqueue(
        session,
        settings,
        cpts.id,
        payloads.GovernanceUpdated(
            **where(cpts),
            board=[payloads.BoardMemberData(**m.model_dump()) for m in board],
            non_health_members=view.non_health_members,
        ),
    )
    return view


async def governance_of(session: AsyncSession, cpts: Cpts) -> schemas.GovernanceView:
    rows = list(
        await session.scalars(select(BoardMember).where(BoardMember.cpts_id == cpts.id).order_by(BoardMember.position))
    )
    board = [
        schemas.BoardMemberOut(name=r.name, role=r.role, profession=r.profession, health_profession=r.health_profession)
        for r in rows
    ]
    return schemas.GovernanceView(
        cpts_id=cpts.id, board=board, non_health_members=sum(not m.health_profession for m in board)
    )


async def count_cpts(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Cpts)) or 0)
