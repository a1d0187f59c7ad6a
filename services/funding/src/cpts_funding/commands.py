"""The funding service's use cases: each validates, changes state and enqueues its event in the
caller's transaction (the transactional outbox), then the caller commits. A refused request
raises a problem before anything is written."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cpts_funding.domain import fungibility
from cpts_funding.domain.categories import MUST_BE_NAMED, FunderCategory
from cpts_funding.domain.contract import ContractTerms, contract_problems
from cpts_funding.domain.contract import terms as contract_terms
from cpts_funding.domain.eligibility import StatusPeriod
from cpts_funding.domain.envelope import Envelope
from cpts_funding.domain.flows import FlowKind, date_problem, part_problem
from cpts_funding.domain.levers import PolicyLevers, lever_problems
from cpts_funding.domain.missions import Part
from cpts_funding.domain.parameters import AciParameters, in_force_on, parameter_problems
from cpts_funding.domain.signatories import RULE, AciBasis, aci_flow_refusal
from cpts_funding.events import build
from cpts_funding.queries import envelope_money, paid_cents, year_closed
from cpts_funding.refdata import builtin_parameters, territories
from cpts_funding.storage.inputs import load_inputs, parameter_versions, version_from_row
from cpts_funding.storage.models import (
    Achievement,
    AciMissionAmount,
    AciTier,
    AciVersion,
    ContractMission,
    Declaration,
    DeclaredSource,
    Flow,
    FunctioningStep,
    Funder,
    PolicyVersion,
    PolicyYear,
    Reallocation,
    RegistryCpts,
    RegistryStatus,
)
from cpts_kit.auth import Principal, Role
from cpts_kit.missions import Mission
from cpts_kit.money import as_cents, from_cents, sum_cents
from cpts_kit.outbox import enqueue
from cpts_kit.problems import Problem, field_error, invalid, not_found
from cpts_kit.settings import ServiceSettings

ACI_RULE = RULE
OVERRIDE = "override"


# --- the use cases' inputs (the routers build them from the request bodies) -----------------


@dataclass(frozen=True)
class NewFunder:
    name: str
    category: FunderCategory
    siren: str | None = None
    region: str | None = None
    departement: str | None = None


@dataclass(frozen=True)
class NewFlow:
    kind: FlowKind
    cpts_id: str
    funder_id: str
    fiscal_year: int
    mission: Mission
    part: Part
    amount: Decimal
    date: date
    funder_reference: str
    note: str | None = None
    aci_basis: AciBasis | None = None


@dataclass(frozen=True)
class Reversal:
    date: date
    reason: str
    replacement: NewFlow | None = None


@dataclass(frozen=True)
class NewSource:
    category: FunderCategory
    amount: Decimal
    funder_id: str | None = None
    funder_name: str | None = None
    funder_siren: str | None = None


@dataclass(frozen=True)
class NewDeclaration:
    cpts_id: str
    fiscal_year: int
    sources: list[NewSource]
    note: str | None = None


@dataclass(frozen=True)
class NewReallocation:
    cpts_id: str
    year: int
    from_mission: Mission
    to_mission: Mission
    amount: Decimal


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


async def create_funder(session: AsyncSession, principal: Principal, body: NewFunder) -> Funder:
    """A national funder (no territory) or a territorial one (a collectivité): the caller's role
    was checked by the router; an ARS/CPAM creates only funders of its own territory."""
    if body.region is not None or body.departement is not None:
        region = body.region
        if body.departement is not None:
            of = territories().region_of(body.departement)
            if of is None:
                raise invalid("departement", "unknown département", "unknown_departement")
            if region is not None and region != of:
                raise invalid("departement", f"the département is in region {of}", "departement_outside_region")
            region = of
        elif region not in territories().regions:
            raise invalid("region", "unknown region", "unknown_region")
        if not funder_territory_visible(principal, region, body.departement):
            raise Problem(
                403,
                "A funder of another territory is created by that territory's ARS or CPAM, or a national role",
                type_="/problems/outside-territory",
            )
    if body.siren is not None:
        existing = await session.scalar(select(Funder.id).where(Funder.siren == body.siren))
        if existing is not None:
            # The holder is not named: a caller may not learn who else the platform knows.
            raise Problem(409, f"A funder with SIREN {body.siren} already exists", type_="/problems/duplicate-siren")
    funder = Funder(
        name=body.name,
        category=body.category.value,
        siren=body.siren,
        region=body.region if body.departement is None else territories().region_of(body.departement),
        departement=body.departement,
        created_by=principal.subject,
    )
    session.add(funder)
    await session.flush()
    return funder


def funder_territory_visible(principal: Principal, region: str | None, departement: str | None) -> bool:
    """Whether the funder's territory lies inside the caller's (a region-wide funder is inside
    an ARS's region, never inside a CPAM's départements)."""
    if principal.is_national:
        return True
    if principal.role is Role.ARS:
        return region is not None and region == principal.region
    if principal.role is Role.CPAM:
        return departement is not None and departement in principal.departements
    return False


async def load_funder(session: AsyncSession, funder_id: str, field: str = "funder_id") -> Funder:
    funder = await session.get(Funder, funder_id)
    if funder is None:
        raise invalid(field, "unknown funder", "unknown_funder", detail=f"Funder {funder_id} is unknown")
    return funder


# --- flows -------------------------------------------------------------------------------


async def check_aci_flow(session: AsyncSession, cpts: RegistryCpts, body: NewFlow) -> None:
    """Assurance maladie money only for ACI signatories, with the texts' exceptions
    (``domain.signatories``): a 422 naming the rule otherwise."""
    history = await status_history(session, cpts.cpts_id)
    lump_sum = None
    if body.aci_basis is AciBasis.INTENTION_LETTER_LUMP_SUM:
        parameters = in_force_on(await parameter_versions(session), body.date)
        tier = parameters.tier_for(cpts.population) if parameters is not None else None
        lump_sum = tier.intention_letter_lump_sum if tier is not None else None
    refusal = aci_flow_refusal(
        kind=body.kind,
        mission=body.mission,
        amount=body.amount,
        fiscal_year=body.fiscal_year,
        on=body.date,
        basis=body.aci_basis,
        history=history,
        lump_sum=lump_sum,
        signed_on=cpts.aci_signed_on,
    )
    if refusal is None:
        return
    raise Problem(
        422,
        f"ACI money goes only to ACI signatories: CPTS {cpts.cpts_id}: {refusal.message} (rule {ACI_RULE})",
        type_="/problems/aci-signatories-only",
        title="ACI money goes only to ACI signatories",
        errors=[field_error("aci_basis" if body.aci_basis else "cpts_id", refusal.message, refusal.code)],
        rule=ACI_RULE,
        exception_refused=refusal.code if body.aci_basis else None,
        cpts_id=cpts.cpts_id,
        status_on_date=refusal.status_on_date,
        date=body.date.isoformat(),
    )


async def record_flow(
    session: AsyncSession,
    settings: ServiceSettings,
    principal: Principal,
    body: NewFlow,
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
    if body.aci_basis is not None and category is not FunderCategory.ACI:
        raise invalid(prefix + "aci_basis", "an exception to the ACI rule names ACI money only", "not_aci_money")
    if category is FunderCategory.ACI:
        await check_aci_flow(session, cpts, body)
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
        aci_basis=body.aci_basis.value if body.aci_basis else None,
        note=body.note,
        recorded_by=principal.subject,
    )
    flow.funder = funder
    session.add(flow)
    await session.flush()
    enqueue(session, settings, cpts.cpts_id, build.flow_event(flow, cpts))
    if category is FunderCategory.ACI and flow.kind == FlowKind.PAYMENT.value:
        await signal_over_maximum(session, settings, cpts, flow.fiscal_year)
    return flow, cpts


async def signal_over_maximum(session: AsyncSession, settings: ServiceSettings, cpts: RegistryCpts, year: int) -> None:
    """When the ACI money paid to a CPTS for a year goes above its envelope's maximum, an
    ``envelope.over_maximum`` event (the audit service turns it into a finding)."""
    envelope = await envelope_of(session, cpts, year)
    paid = from_cents(
        await session.scalar(
            select(sum_cents(paid_cents())).where(
                Flow.cpts_id == cpts.cpts_id,
                Flow.fiscal_year == year,
                Flow.funder_category == FunderCategory.ACI.value,
                envelope_money(),
            )
        )
    )
    if paid <= envelope.maximum:
        return
    flow_ids = (
        await session.scalars(
            select(Flow.id)
            .where(
                Flow.cpts_id == cpts.cpts_id,
                Flow.fiscal_year == year,
                Flow.funder_category == FunderCategory.ACI.value,
                Flow.kind == FlowKind.PAYMENT.value,
                envelope_money(),
            )
            .order_by(Flow.seq)
        )
    ).all()
    enqueue(
        session, settings, cpts.cpts_id, build.over_maximum_event(cpts, year, envelope.maximum, paid, list(flow_ids))
    )


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
    body: Reversal,
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
        aci_basis=original.aci_basis,
        reverses=original.id,
        note=body.reason,
        recorded_by=principal.subject,
    )
    reversal.funder = original.funder
    session.add(reversal)
    await session.flush()
    enqueue(session, settings, cpts.cpts_id, build.flow_event(reversal, cpts))
    replacement = None
    if body.replacement is not None:
        replacement, _ = await record_flow(session, settings, principal, body.replacement, today, prefix="replacement.")
    return reversal, replacement


# --- declarations ------------------------------------------------------------------------


async def submit_declaration(
    session: AsyncSession, settings: ServiceSettings, principal: Principal, body: NewDeclaration
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
    enqueue(session, settings, cpts.cpts_id, build.declaration_event(declaration, cpts))
    return declaration, cpts


# --- ACI parameters and policy levers ----------------------------------------------------


def _comparable(parameters: AciParameters) -> AciParameters:
    return replace(parameters, builtin=False, order=0, created_by=None)


async def put_aci_version(
    session: AsyncSession, principal: Principal, proposed: AciParameters
) -> tuple[AciParameters, bool]:
    """A new version (True), or the same one again (False); versions never change once loaded."""
    version = proposed.version
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
        crisis_update_share=proposed.crisis_update_share,
        created_by=principal.subject,
        tiers=[
            AciTier(
                tier=t.tier,
                min_population=t.min_population,
                functioning=t.functioning,
                snp_compensation=t.snp_compensation,
                startup_functioning=t.startup_functioning,
                intention_letter_lump_sum=t.intention_letter_lump_sum,
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


async def put_policy(
    session: AsyncSession, settings: ServiceSettings, principal: Principal, levers: PolicyLevers, reason: str
) -> int:
    """A new version of the year's levers (its number), with its author and reason, published
    as ``policy.versioned``; a closed year answers 409 and changes nothing."""
    year = levers.year
    if problems := lever_problems(levers):
        raise Problem(
            422,
            f"The levers are inconsistent ({problems[0][1]})",
            type_="/problems/validation-error",
            errors=[field_error(f, m, "inconsistent_levers") for f, m in problems],
        )
    if await year_closed(session, year):
        raise Problem(
            409,
            f"The levers of {year} cannot change: ACI money of that year was already paid (a closed year)",
            type_="/problems/year-closed",
        )
    row = await session.get(PolicyYear, year)
    if row is None:
        row = PolicyYear(year=year, updated_by=principal.subject, version=0)
        session.add(row)
    else:
        await session.execute(delete(FunctioningStep).where(FunctioningStep.year == year))
        await session.refresh(row, ["steps"])
    row.version = (row.version or 0) + 1
    row.variable_share = levers.variable_share
    row.fungibility_share = levers.fungibility_share
    row.fungibility_national_cap = levers.fungibility_national_cap
    row.updated_by = principal.subject
    row.steps = [
        FunctioningStep(year=year, from_maturity=s.from_maturity, reduction=s.reduction)
        for s in levers.functioning_reduction
    ]
    payload = build.policy_event(levers, row.version, principal.subject, reason)
    session.add(
        PolicyVersion(
            year=year,
            version=row.version,
            author=principal.subject,
            reason=reason,
            levers=payload.levers.model_dump_json(),
        )
    )
    await session.flush()
    enqueue(session, settings, f"policy-{year}", payload)
    return row.version


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
    rates: dict[Mission, Decimal],
) -> Envelope:
    """An administrator's override of the achievement rates, recorded as such (``source:
    override``); the indicators service's validated rates no longer replace these missions'."""
    if not (await envelope_of(session, cpts, year)).eligible:
        raise _no_envelope(cpts, year)
    for mission, rate in rates.items():
        row = await session.get(Achievement, (cpts.cpts_id, year, mission.value))
        if row is None:
            session.add(
                Achievement(
                    cpts_id=cpts.cpts_id,
                    year=year,
                    mission=mission.value,
                    rate=rate,
                    source=OVERRIDE,
                    recorded_by=principal.subject,
                )
            )
        else:
            row.rate, row.source, row.recorded_by = rate, OVERRIDE, principal.subject
    await session.flush()
    envelope = await envelope_of(session, cpts, year)
    enqueue(session, settings, cpts.cpts_id, build.envelope_event(envelope, cpts))
    return envelope


async def set_contract(
    session: AsyncSession, principal: Principal, cpts: RegistryCpts, starts: dict[Mission, date]
) -> ContractTerms:
    """Record the missions of the CPTS's contract and their start dates (replacing the last)."""
    if cpts.aci_signed_on is None:
        raise Problem(
            409, f"CPTS {cpts.cpts_id} has not signed the ACI: it has no contract yet", type_="/problems/no-contract"
        )
    if problems := contract_problems(cpts.aci_signed_on, starts):
        raise Problem(
            422,
            f"The contract breaks the ACI's rules ({problems[0][1]})",
            type_="/problems/validation-error",
            errors=[field_error(f, m, "contract_rule") for f, m in problems],
        )
    await session.execute(delete(ContractMission).where(ContractMission.cpts_id == cpts.cpts_id))
    for mission, starts_on in starts.items():
        session.add(
            ContractMission(
                cpts_id=cpts.cpts_id, mission=mission.value, starts_on=starts_on, recorded_by=principal.subject
            )
        )
    await session.flush()
    return contract_terms(cpts.aci_signed_on, starts)


async def request_reallocation(
    session: AsyncSession, settings: ServiceSettings, principal: Principal, body: NewReallocation
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
        from_mission=body.from_mission,
        to_mission=body.to_mission,
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
    enqueue(session, settings, cpts.cpts_id, build.reallocation_event(row, cpts))
    if decision.accepted:
        enqueue(
            session, settings, cpts.cpts_id, build.envelope_event(await envelope_of(session, cpts, body.year), cpts)
        )
    return row, cpts
