"""Rows, domain objects and the use cases' results shaped into the HTTP answers (the routers'
job; commands and queries never build these)."""

from __future__ import annotations

from decimal import Decimal

from cpts_funding import aggregates, queries, simulation, steering
from cpts_funding.api import schemas
from cpts_funding.domain.amounts import ZERO, KeyAmount, by_key
from cpts_funding.domain.categories import LABELS_FR, FunderCategory
from cpts_funding.domain.contract import ContractTerms
from cpts_funding.domain.envelope import Envelope
from cpts_funding.domain.parameters import AciParameters
from cpts_funding.storage.models import Declaration, Funder, Reallocation, RegistryCpts
from cpts_kit.missions import Mission


def funder_view(funder: Funder) -> schemas.FunderView:
    category = FunderCategory(funder.category)
    return schemas.FunderView(
        id=funder.id,
        name=funder.name,
        category=category,
        category_label=LABELS_FR[category],
        siren=funder.siren,
        region=funder.region,
        departement=funder.departement,
    )


def flow_view(record: queries.FlowRecord) -> schemas.FlowView:
    # The record's fields are the view's: validated in one call (pydantic's core turns the
    # stored codes into the enums), not field by field in Python.
    return schemas.FlowView.model_validate(record, from_attributes=True)


def key_amounts(items: list[KeyAmount]) -> list[schemas.KeyAmount]:
    return [schemas.KeyAmount(key=i.key, amount=i.amount) for i in items]


def declaration_view(declaration: Declaration, cpts: RegistryCpts) -> schemas.DeclarationView:
    sources = [
        schemas.SourceView(
            category=FunderCategory(s.category),
            funder_id=s.funder_id,
            funder_name=s.funder_name,
            funder_siren=s.funder_siren,
            amount=s.amount,
        )
        for s in declaration.sources
    ]
    return schemas.DeclarationView(
        id=declaration.id,
        cpts_id=declaration.cpts_id,
        cpts_name=cpts.name,
        region=cpts.region,
        departement=cpts.departement,
        fiscal_year=declaration.fiscal_year,
        version=declaration.version,
        sources=sources,
        total=declaration.total,
        by_category=key_amounts(by_key([(s.category.value, s.amount) for s in sources])),
        note=declaration.note,
        submitted_at=declaration.submitted_at,
        submitted_by=declaration.submitted_by,
    )


def reallocation_view(row: Reallocation) -> schemas.ReallocationView:
    return schemas.ReallocationView(
        id=row.id,
        cpts_id=row.cpts_id,
        year=row.year,
        from_mission=Mission(row.from_mission),
        to_mission=Mission(row.to_mission),
        amount=row.amount,
        decision="accepted" if row.accepted else "refused",
        reason_code=row.reason_code,
        reason=row.reason,
        requested_at=row.requested_at,
        requested_by=row.requested_by,
    )


def parameters_ref(parameters: AciParameters) -> schemas.ParametersRef:
    return schemas.ParametersRef(
        version=parameters.version,
        label=parameters.label,
        effective_from=parameters.effective_from,
        illustrative=parameters.illustrative,
    )


def aci_version_view(parameters: AciParameters) -> schemas.AciVersionView:
    return schemas.AciVersionView(
        version=parameters.version,
        label=parameters.label,
        effective_from=parameters.effective_from,
        illustrative=parameters.illustrative,
        builtin=parameters.builtin,
        source=parameters.source,
        advance_share=parameters.advance_share,
        crisis_update_share=parameters.crisis_update_share,
        tiers=[
            schemas.TierView(
                tier=t.tier,
                min_population=t.min_population,
                functioning=t.functioning,
                snp_compensation=t.snp_compensation,
                missions=[
                    schemas.MissionAmountsView(mission=m, fixed=a.fixed, variable=a.variable)
                    for m, a in sorted(t.missions.items(), key=lambda kv: list(Mission).index(kv[0]))
                ],
                startup_functioning=t.startup_functioning,
                intention_letter_lump_sum=t.intention_letter_lump_sum,
                ceiling=t.ceiling,
            )
            for t in parameters.tiers
        ],
    )


def envelope_view(
    envelope: Envelope, cpts: RegistryCpts, paid_by_mission: dict[Mission, Decimal]
) -> schemas.EnvelopeView:
    missions = [
        schemas.EnvelopeLine(
            mission=line.mission,
            fixed=line.fixed,
            snp_compensation=line.snp_compensation,
            variable_max=line.variable_max,
            achievement=line.achievement,
            variable_earned=line.variable_earned,
            reallocated=line.reallocated,
            maximum=line.maximum,
            theoretical=line.theoretical,
            paid=paid_by_mission.get(line.mission, ZERO),
        )
        for line in envelope.lines
    ]
    in_envelope = {Mission.FUNCTIONING, *(line.mission for line in envelope.lines)}
    paid = sum((a for m, a in paid_by_mission.items() if m in in_envelope), ZERO)
    outside = sum((a for m, a in paid_by_mission.items() if m not in in_envelope), ZERO)
    functioning_paid = paid_by_mission.get(Mission.FUNCTIONING, ZERO)
    return schemas.EnvelopeView(
        cpts_id=cpts.cpts_id,
        year=envelope.year,
        eligible=envelope.eligible,
        illustrative=envelope.parameters.illustrative,
        parameters=parameters_ref(envelope.parameters),
        population=envelope.population,
        size_tier=envelope.tier,
        aci_signed_on=cpts.aci_signed_on,
        maturity=envelope.maturity,
        contract_year_start=envelope.period[0],
        contract_year_end=envelope.period[1],
        aci_days=envelope.aci_days,
        days_in_year=envelope.days_in_year,
        functioning=schemas.FunctioningView(
            base=envelope.functioning_base,
            reduction=envelope.functioning_reduction,
            amount=envelope.functioning,
            startup_top_up=envelope.startup_top_up,
            paid=functioning_paid,
        ),
        missions=missions,
        totals=schemas.EnvelopeTotals(
            functioning=envelope.functioning,
            fixed=envelope.fixed_total,
            variable_max=envelope.variable_max_total,
            variable_earned=envelope.variable_earned_total,
            maximum=envelope.maximum,
            theoretical=envelope.theoretical,
            paid=paid,
            paid_outside_envelope=outside,
            remaining=envelope.theoretical - paid,
        ),
        signature_year=envelope.signature_year,
        over_maximum=paid + outside > envelope.maximum,
        excess=max(paid + outside - envelope.maximum, ZERO),
    )


def schedule_view(schedule: queries.Schedule) -> schemas.ScheduleView:
    return schemas.ScheduleView(
        cpts_id=schedule.cpts_id,
        year=schedule.year,
        illustrative=schedule.illustrative,
        as_of=schedule.as_of,
        instalments=[
            schemas.DueView(
                due_on=d.due_on, mission=d.mission, part=d.part, instalment=d.instalment.value, amount=d.amount
            )
            for d in schedule.instalments
        ],
        total=schedule.total,
        due_as_of=schedule.due_as_of,
        paid=schedule.paid,
        outstanding_as_of=schedule.outstanding_as_of,
    )


def policy_view(year: int, policy: queries.Policy) -> schemas.PolicyView:
    levers = policy.levers
    return schemas.PolicyView(
        year=year,
        functioning_reduction=[
            schemas.ReductionStepIn(from_maturity=s.from_maturity, reduction=s.reduction)
            for s in levers.functioning_reduction
        ],
        variable_share=levers.variable_share,
        fungibility_share=levers.fungibility_share,
        fungibility_national_cap=levers.fungibility_national_cap,
        fungibility_used=policy.fungibility_used,
        set=policy.version > 0,
        version=policy.version,
        closed=policy.closed,
        history=[
            schemas.PolicyVersionView(version=v.version, author=v.author, reason=v.reason, created_at=v.created_at)
            for v in policy.history
        ],
    )


def contract_view(cpts: RegistryCpts, terms: ContractTerms) -> schemas.ContractView:
    return schemas.ContractView(
        cpts_id=cpts.cpts_id,
        aci_signed_on=cpts.aci_signed_on,
        recorded=terms.recorded,
        missions=[
            schemas.ContractMissionView(
                mission=m.mission, starts_on=m.starts_on, compulsory=m.compulsory, start_deadline=m.start_deadline
            )
            for m in terms.missions
        ],
    )


def scope_view(scope: aggregates.Scope) -> schemas.Scope:
    return schemas.Scope(level=scope.level, code=scope.code, name=scope.name)


def funding_analytics_view(result: aggregates.FundingAnalytics) -> schemas.FundingAnalytics:
    envelopes = result.aci_envelopes
    return schemas.FundingAnalytics(
        scope=scope_view(result.scope),
        years=result.years,
        funder_category=result.funder_category,
        total=result.total,
        allocated=result.allocated,
        recovered=result.recovered,
        cpts_funded=result.cpts_funded,
        population=result.population,
        per_capita=result.per_capita,
        by_funder_category=key_amounts(result.by_funder_category),
        by_mission=key_amounts(result.by_mission),
        by_part=key_amounts(result.by_part),
        by_year=key_amounts(result.by_year),
        aci_envelopes=schemas.EnvelopesVsPaid(
            signatories=envelopes.signatories,
            maximum=envelopes.maximum,
            theoretical=envelopes.theoretical,
            paid=envelopes.paid,
            by_mission=key_amounts(envelopes.by_mission),
            illustrative=envelopes.illustrative,
            over_maximum=envelopes.over_maximum,
            excess=envelopes.excess,
        ),
    )


def overlap_view(row: aggregates.OverlapRow) -> schemas.OverlapView:
    return schemas.OverlapView(
        cpts_id=row.cpts_id,
        cpts_name=row.cpts_name,
        region=row.region,
        departement=row.departement,
        fiscal_year=row.fiscal_year,
        mission=row.mission,
        aci_allocated=row.aci_allocated,
        aci_paid=row.aci_paid,
        fir_allocated=row.fir_allocated,
        fir_paid=row.fir_paid,
    )


def _steering_row(row: steering.SteeringRow) -> schemas.SteeringRowView:
    return schemas.SteeringRowView(
        key=row.key,
        cpts_count=row.cpts_count,
        population=row.population,
        theoretical=row.theoretical,
        maximum=row.maximum,
        allocated=row.allocated,
        paid=row.paid,
        spent=row.spent,
        per_capita=row.per_capita,
    )


def steering_view(scope: aggregates.Scope, result: steering.Steering) -> schemas.SteeringView:
    return schemas.SteeringView(
        scope=scope_view(scope),
        year=result.year,
        basis=result.basis.value,
        group_by=[d.value for d in result.group_by],
        illustrative=result.illustrative,
        rows=[_steering_row(r) for r in result.rows],
        total=_steering_row(result.total),
    )


def _cost_view(cost: simulation.Cost) -> schemas.CostView:
    return schemas.CostView(
        signatories=cost.signatories,
        theoretical=cost.theoretical,
        maximum=cost.maximum,
        by_tier=key_amounts(cost.by_tier),
        by_mission=key_amounts(cost.by_mission),
        by_region=key_amounts(cost.by_region),
    )


def simulation_view(results: list[simulation.YearSimulation], illustrative: bool) -> schemas.SimulationView:
    return schemas.SimulationView(
        illustrative=illustrative,
        years=[
            schemas.YearSimulationView(
                year=r.year,
                simulated=_cost_view(r.simulated),
                current=_cost_view(r.current),
                difference_theoretical=r.difference_theoretical,
                difference_maximum=r.difference_maximum,
            )
            for r in results
        ],
    )
