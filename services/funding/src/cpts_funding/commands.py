"""The funding service's use cases: each validates, changes state and enqueues its event in the
caller's transaction (the transactional outbox), then the caller commits. A refused request
raises a problem before anything is written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_funding import views
from cpts_funding.api import schemas
from cpts_funding.domain import fungibility
from cpts_funding.domain.categories import MUST_BE_NAMED, FunderCategory
from cpts_funding.domain.eligibility import ACI_SIGNED, StatusPeriod, status_at
from cpts_funding.domain.envelope import Envelope
from cpts_funding.domain.flows import ACI_GATED_KINDS, FlowKind, date_problem, part_problem
from cpts_funding.domain.levers import PolicyLevers, ReductionStep, lever_problems
from cpts_funding.domain.missions import Mission
from cpts_funding.domain.parameters import AciParameters, MissionAmounts, TierAmounts, parameter_problems
from cpts_funding.refdata import builtin_parameters
from cpts_funding.storage.inputs import load_inputs, version_from_row
from cpts_funding.storage.models import (
    Achievement,
    AciMissionAmount,
    AciTier,
    AciVersion,
    Declaration,
    DeclaredSource,
    Flow,
    FunctioningStep,
    Funder,
    PolicyYear,
    Reallocation,
    RegistryCpts,
    RegistryStatus,
)
from cpts_kit.auth import Principal
from cpts_kit.money import as_cents, from_cents, sum_cents
from cpts_kit.outbox import enqueue
from cpts_kit.problems import Problem, field_error, invalid, not_found
from cpts_kit.settings import ServiceSettings

ACI_RULE = "aci_signatories_only"


# --- CPTS of the projection --------------------------------------------------------------


async def load_visible_cpts(session: AsyncSession, principal: Principal, cpts_id: str) -> RegistryCpts:
    """The CPTS (path parameter) if the projection has it and the caller's territory holds it;
    404 otherwise (another territory's CPTS is indistinguishable from a missing one)."""
    cpts = await session.get(RegistryCpts, cpts_id)
    if cpts is None or not principal.sees(region=cpts.region, departement=cpts.departement, cpts_id=cpts.cpts_id):
        raise not_found("CPTS", cpts_id)
    return cpts


async def referenced_cpts(
    session: AsyncSession, principal: Principal, cpts_id: str, field: str = "cpts_id"
) -> RegistryCpts:
    """The CPTS a request body names; a 422 when it is unknown or outside the caller's territory."""
    cpts = await session.get(RegistryCpts, cpts_id)
    if cpts is None or not principal.sees(region=cpts.region, departement=cpts.departement, cpts_id=cpts.cpts_id):
        raise invalid(
            field,
            "unknown CPTS (or outside your territory)",
            "unknown_cpts",
            detail=f"CPTS {cpts_id} is unknown or outside your territory",
        )
    return cpts


async def status_history(session: AsyncSession, cpts_id: str) -> list[StatusPeriod]:
    rows = await session.scalars(
        select(RegistryStatus).where(RegistryStatus.cpts_id == cpts_id).order_by(RegistryStatus.seq)
    )
    return [StatusPeriod(r.status, r.effective_date) for r in rows]


# --- funders -----------------------------------------------------------------------------


async def create_funder(session: AsyncSession, principal: Principal, body: schemas.FunderCreate) -> Funder:
    if body.siren is not None:
        existing = await session.scalar(select(Funder.id).where(Funder.siren == body.siren))
        if existing is not None:
            raise Problem(
                409,
                f"A funder with SIREN {body.siren} already exists ({existing})",
                type_="/problems/duplicate-siren",
                funder_id=existing,
            )
    funder = Funder(name=body.name, category=body.category.value, siren=body.siren, created_by=principal.subject)
    session.add(funder)
    await session.flush()
    return funder


async def load_funder(session: AsyncSession, funder_id: str, field: str = "funder_id") -> Funder:
    funder = await session.get(Funder, funder_id)
    if funder is None:
        raise invalid(field, "unknown funder", "unknown_funder", detail=f"Funder {funder_id} is unknown")
    return funder


# --- flows -------------------------------------------------------------------------------


async def check_aci_signatory(session: AsyncSession, cpts: RegistryCpts, on: date) -> None:
    """ACI money goes only to a CPTS whose registry status is aci_signed on the flow's date."""
    status = status_at(await status_history(session, cpts.cpts_id), on)
    if status != ACI_SIGNED:
        raise Problem(
            422,
            f"ACI money goes only to ACI signatories: CPTS {cpts.cpts_id} had the registry status "
            f"{status or 'none'} on {on.isoformat()}, not aci_signed (rule {ACI_RULE})",
            type_="/problems/aci-signatories-only",
            title="ACI money goes only to ACI signatories",
            errors=[field_error("cpts_id", "not an ACI signatory on the flow's date", ACI_RULE)],
            rule=ACI_RULE,
            cpts_id=cpts.cpts_id,
            status_on_date=status,
            date=on.isoformat(),
        )


async def record_flow(
    session: AsyncSession,
    settings: ServiceSettings,
    principal: Principal,
    body: schemas.FlowCreate,
    today: date,
    *,
    prefix: str = "",
) -> tuple[Flow, RegistryCpts]:
    funder = await load_funder(session, body.funder_id, prefix + "funder_id")
    cpts = await referenced_cpts(session, principal, body.cpts_id, prefix + "cpts_id")
    category = FunderCategory(funder.category)
    if problem := part_problem(body.mission, body.part, category, body.kind):
        raise invalid(prefix + "part", problem, "part_mismatch")
    if problem := date_problem(body.fiscal_year, body.date):
        raise invalid(prefix + "date", problem, "date_outside_fiscal_year")
    if body.kind is not FlowKind.ALLOCATION and body.date > today:
        raise invalid(prefix + "date", "a payment or recovery cannot be dated in the future", "future_date")
    if category is FunderCategory.ACI and body.kind in ACI_GATED_KINDS:
        await check_aci_signatory(session, cpts, body.date)
    flow = Flow(
        kind=body.kind.value,
        cpts_id=cpts.cpts_id,
        funder_id=funder.id,
        funder_category=category.value,
        fiscal_year=body.fiscal_year,
        mission=body.mission.value,
        part=body.part.value,
        amount=body.amount,
        flow_date=body.date,
        funder_reference=body.funder_reference,
        note=body.note,
        recorded_by=principal.subject,
    )
    flow.funder = funder
    session.add(flow)
    await session.flush()
    enqueue(session, settings, cpts.cpts_id, views.flow_event(flow, cpts))
    return flow, cpts


async def load_visible_flow(session: AsyncSession, principal: Principal, flow_id: str) -> tuple[Flow, RegistryCpts]:
    found = (
        await session.execute(
            select(Flow, RegistryCpts)
            .join(RegistryCpts, RegistryCpts.cpts_id == Flow.cpts_id)
            .where(Flow.id == flow_id)
        )
    ).first()
    if found is None:
        raise not_found("Flow", flow_id)
    flow, cpts = found
    if not principal.sees(region=cpts.region, departement=cpts.departement, cpts_id=cpts.cpts_id):
        raise not_found("Flow", flow_id)
    return flow, cpts


async def reverse_flow(
    session: AsyncSession,
    settings: ServiceSettings,
    principal: Principal,
    original: Flow,
    cpts: RegistryCpts,
    body: schemas.ReversalRequest,
    today: date,
) -> tuple[Flow, Flow | None]:
    """A correction: the reversal (opposite amount) and, if given, the replacement flow."""
    if original.reverses is not None:
        raise Problem(
            409, "A reversal cannot itself be reversed; record a new flow instead", type_="/problems/conflict"
        )
    already = await session.scalar(select(Flow.id).where(Flow.reverses == original.id))
    if already is not None:
        raise Problem(
            409,
            f"Flow {original.id} was already reversed by {already}",
            type_="/problems/conflict",
            reversed_by=already,
        )
    if body.date < original.flow_date:
        raise invalid("date", "a reversal cannot be dated before the flow it reverses", "before_original")
    if body.date > today:
        raise invalid("date", "a reversal cannot be dated in the future", "future_date")
    reversal = Flow(
        kind=original.kind,
        cpts_id=original.cpts_id,
        funder_id=original.funder_id,
        funder_category=original.funder_category,
        fiscal_year=original.fiscal_year,
        mission=original.mission,
        part=original.part,
        amount=-original.amount,
        flow_date=body.date,
        funder_reference=original.funder_reference,
        reverses=original.id,
        note=body.reason,
        recorded_by=principal.subject,
    )
    reversal.funder = original.funder
    session.add(reversal)
    await session.flush()
    enqueue(session, settings, cpts.cpts_id, views.flow_event(reversal, cpts))
    replacement = None
    if body.replacement is not None:
        replacement, _ = await record_flow(session, settings, principal, body.replacement, today, prefix="replacement.")
    return reversal, replacement


# --- declarations ------------------------------------------------------------------------


async def submit_declaration(
    session: AsyncSession, settings: ServiceSettings, principal: Principal, body: schemas.DeclarationCreate
) -> tuple[Declaration, RegistryCpts]:
    cpts = await referenced_cpts(session, principal, body.cpts_id)
    errors: list[dict[str, str]] = []
    sources: list[DeclaredSource] = []
    for index, source in enumerate(body.sources):
        name, siren = source.funder_name, source.funder_siren
        if source.funder_id is not None:
            funder = await session.get(Funder, source.funder_id)
            if funder is None:
                errors.append(field_error(f"sources.{index}.funder_id", "unknown funder", "unknown_funder"))
                continue
            if funder.category != source.category.value:
                errors.append(
                    field_error(
                        f"sources.{index}.category",
                        f"the funder's category is {funder.category}",
                        "category_mismatch",
                    )
                )
                continue
            name, siren = name or funder.name, siren or funder.siren
        if source.category in MUST_BE_NAMED and not name:
            errors.append(
                field_error(
                    f"sources.{index}.funder_name",
                    f"{source.category.value} money must name its funder",
                    "unnamed_source",
                )
            )
            continue
        sources.append(
            DeclaredSource(
                position=index,
                category=source.category.value,
                funder_id=source.funder_id,
                funder_name=name,
                funder_siren=siren,
                amount=source.amount,
            )
        )
    if errors:
        fields = ", ".join(e["field"] for e in errors[:5])
        raise Problem(422, f"The declaration is invalid ({fields})", type_="/problems/validation-error", errors=errors)
    latest = await session.scalar(
        select(func.max(Declaration.version)).where(
            Declaration.cpts_id == cpts.cpts_id, Declaration.fiscal_year == body.fiscal_year
        )
    )
    declaration = Declaration(
        cpts_id=cpts.cpts_id,
        fiscal_year=body.fiscal_year,
        version=int(latest or 0) + 1,
        total=sum((s.amount for s in sources), Decimal("0.00")),
        note=body.note,
        submitted_by=principal.subject,
        sources=sources,
    )
    session.add(declaration)
    await session.flush()
    enqueue(session, settings, cpts.cpts_id, views.declaration_event(declaration, cpts))
    return declaration, cpts


# --- ACI parameters and policy levers ----------------------------------------------------


def _parameters_from_body(version: str, body: schemas.AciVersionIn) -> AciParameters:
    return AciParameters(
        version=version,
        label=body.label,
        effective_from=body.effective_from,
        illustrative=body.illustrative,
        source=body.source,
        advance_share=body.advance_share,
        tiers=tuple(
            TierAmounts(
                tier=t.tier,
                min_population=t.min_population,
                functioning=t.functioning,
                snp_compensation=t.snp_compensation,
                missions={Mission(m.value): MissionAmounts(a.fixed, a.variable) for m, a in t.missions.items()},
            )
            for t in body.tiers
        ),
    )


def _comparable(parameters: AciParameters) -> dict[str, Any]:
    view = views.aci_version_view(parameters).model_dump(mode="json")
    view.pop("builtin")
    return view


async def put_aci_version(
    session: AsyncSession, principal: Principal, version: str, body: schemas.AciVersionIn
) -> tuple[AciParameters, bool]:
    """A new version (True), or the same one again (False); versions never change once loaded."""
    proposed = _parameters_from_body(version, body)
    if any(v.version == version for v in builtin_parameters()):
        raise Problem(
            409,
            f"{version} is a shipped illustrative version; load the official values under a new version id",
            type_="/problems/version-exists",
        )
    existing = await session.scalar(select(AciVersion).where(AciVersion.version == version))
    if existing is not None:
        loaded = version_from_row(existing)
        if _comparable(loaded) == _comparable(proposed):
            return loaded, False
        raise Problem(
            409,
            f"Version {version} exists with other values; versions are immutable, load a new version id",
            type_="/problems/version-exists",
        )
    problems = parameter_problems(proposed.tiers, proposed.advance_share)
    if problems:
        raise Problem(
            422,
            f"The parameters are inconsistent ({problems[0][1]})",
            type_="/problems/validation-error",
            errors=[field_error(f, m, "inconsistent_parameters") for f, m in problems],
        )
    row = AciVersion(
        version=version,
        label=proposed.label,
        effective_from=proposed.effective_from,
        illustrative=proposed.illustrative,
        source=proposed.source,
        advance_share=proposed.advance_share,
        created_by=principal.subject,
        tiers=[
            AciTier(
                tier=t.tier,
                min_population=t.min_population,
                functioning=t.functioning,
                snp_compensation=t.snp_compensation,
                missions=[
                    AciMissionAmount(mission=m.value, fixed=a.fixed, variable=a.variable) for m, a in t.missions.items()
                ],
            )
            for t in proposed.tiers
        ],
    )
    session.add(row)
    await session.flush()
    await session.refresh(row, ["tiers"])
    return version_from_row(row), True


async def put_policy(session: AsyncSession, principal: Principal, year: int, body: schemas.PolicyIn) -> PolicyLevers:
    levers = PolicyLevers(
        year=year,
        functioning_reduction=tuple(ReductionStep(s.from_maturity, s.reduction) for s in body.functioning_reduction),
        variable_share=body.variable_share,
        fungibility_share=body.fungibility_share,
        fungibility_national_cap=body.fungibility_national_cap,
    )
    if problems := lever_problems(levers):
        raise Problem(
            422,
            f"The levers are inconsistent ({problems[0][1]})",
            type_="/problems/validation-error",
            errors=[field_error(f, m, "inconsistent_levers") for f, m in problems],
        )
    row = await session.get(PolicyYear, year)
    if row is None:
        row = PolicyYear(year=year, updated_by=principal.subject)
        session.add(row)
    else:
        await session.execute(delete(FunctioningStep).where(FunctioningStep.year == year))
        await session.refresh(row, ["steps"])
    row.variable_share = levers.variable_share
    row.fungibility_share = levers.fungibility_share
    row.fungibility_national_cap = levers.fungibility_national_cap
    row.updated_by = principal.subject
    row.steps = [
        FunctioningStep(year=year, from_maturity=s.from_maturity, reduction=s.reduction)
        for s in levers.functioning_reduction
    ]
    await session.flush()
    return levers


# --- envelopes: achievements and reallocations ---------------------------------------------


async def envelope_of(session: AsyncSession, cpts: RegistryCpts, year: int) -> Envelope:
    inputs = await load_inputs(session, [year], [cpts.cpts_id])
    envelope = inputs.envelope(cpts, year)
    if envelope is None:
        raise Problem(404, f"No ACI parameter version is in force for {year}", type_="/problems/not-found")
    return envelope


def _no_envelope(cpts: RegistryCpts, year: int) -> Problem:
    return Problem(
        409,
        f"CPTS {cpts.cpts_id} has no ACI envelope for {year}: it was never aci_signed that year",
        type_="/problems/no-aci-envelope",
    )


async def record_achievements(
    session: AsyncSession,
    settings: ServiceSettings,
    principal: Principal,
    cpts: RegistryCpts,
    year: int,
    body: schemas.AchievementsIn,
) -> Envelope:
    """Indicator achievement by mission (until an indicators service publishes them)."""
    if not (await envelope_of(session, cpts, year)).eligible:
        raise _no_envelope(cpts, year)
    for mission, rate in body.rates.items():
        row = await session.get(Achievement, (cpts.cpts_id, year, mission.value))
        if row is None:
            session.add(
                Achievement(
                    cpts_id=cpts.cpts_id, year=year, mission=mission.value, rate=rate, recorded_by=principal.subject
                )
            )
        else:
            row.rate, row.recorded_by = rate, principal.subject
    await session.flush()
    envelope = await envelope_of(session, cpts, year)
    enqueue(session, settings, cpts.cpts_id, views.envelope_event(envelope, cpts))
    return envelope


async def request_reallocation(
    session: AsyncSession, settings: ServiceSettings, principal: Principal, body: schemas.ReallocationCreate
) -> tuple[Reallocation, RegistryCpts]:
    cpts = await referenced_cpts(session, principal, body.cpts_id)
    if body.from_mission == body.to_mission:
        raise invalid("to_mission", "the same mission as from_mission", "same_mission")
    if session.get_bind().dialect.name != "sqlite":
        # One decision at a time against the national cap (SQLite transactions are serial already).
        await session.scalar(select(PolicyYear).where(PolicyYear.year == body.year).with_for_update())
    inputs = await load_inputs(session, [body.year], [cpts.cpts_id])
    envelope = inputs.envelope(cpts, body.year)
    levers = inputs.levers[body.year]
    accepted = (Reallocation.year == body.year) & Reallocation.accepted.is_(True)
    by_cpts = from_cents(
        await session.scalar(
            select(sum_cents(as_cents(Reallocation.amount))).where(accepted, Reallocation.cpts_id == cpts.cpts_id)
        )
    )
    nationally = from_cents(await session.scalar(select(sum_cents(as_cents(Reallocation.amount))).where(accepted)))
    decision = fungibility.decide(
        envelope=envelope,
        levers=levers,
        from_mission=Mission(body.from_mission.value),
        to_mission=Mission(body.to_mission.value),
        amount=body.amount,
        already_moved_by_cpts=by_cpts,
        already_moved_nationally=nationally,
    )
    row = Reallocation(
        cpts_id=cpts.cpts_id,
        year=body.year,
        from_mission=body.from_mission.value,
        to_mission=body.to_mission.value,
        amount=body.amount,
        accepted=decision.accepted,
        reason_code=decision.code.value,
        reason=decision.reason,
        requested_by=principal.subject,
    )
    session.add(row)
    await session.flush()
    enqueue(session, settings, cpts.cpts_id, views.reallocation_event(row, cpts))
    if decision.accepted:
        enqueue(
            session, settings, cpts.cpts_id, views.envelope_event(await envelope_of(session, cpts, body.year), cpts)
        )
    return row, cpts
