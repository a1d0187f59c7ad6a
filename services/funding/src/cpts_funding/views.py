"""Rows and domain objects shaped into the public contract (shared by commands and queries)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from cpts_funding.api import schemas
from cpts_funding.domain.amounts import ZERO
from cpts_funding.domain.categories import LABELS_FR, FunderCategory
from cpts_funding.domain.envelope import Envelope
from cpts_funding.domain.flows import FlowKind
from cpts_funding.domain.missions import Mission, Part
from cpts_funding.domain.parameters import AciParameters
from cpts_funding.events import payloads
from cpts_funding.storage.models import Declaration, Flow, Funder, Reallocation, RegistryCpts


def funder_view(funder: Funder) -> schemas.FunderView:
    category = FunderCategory(funder.category)
    return schemas.FunderView(
        id=funder.id, name=funder.name, category=category, category_label=LABELS_FR[category], siren=funder.siren
    )


def flow_view(flow: Flow, cpts: RegistryCpts, reversed_by: str | None) -> schemas.FlowView:
    return schemas.FlowView(
        id=flow.id,
        seq=flow.seq,
        kind=FlowKind(flow.kind),
        cpts_id=flow.cpts_id,
        cpts_name=cpts.name,
        region=cpts.region,
        departement=cpts.departement,
        funder_id=flow.funder_id,
        funder_name=flow.funder.name,
        funder_category=FunderCategory(flow.funder_category),
        fiscal_year=flow.fiscal_year,
        mission=Mission(flow.mission),
        part=Part(flow.part),
        amount=flow.amount,
        date=flow.flow_date,
        funder_reference=flow.funder_reference,
        reverses=flow.reverses,
        reversed_by=reversed_by,
        note=flow.note,
        recorded_at=flow.recorded_at,
        recorded_by=flow.recorded_by,
    )


def flow_event(flow: Flow, cpts: RegistryCpts) -> payloads.FlowData:
    event_class = payloads.FLOW_EVENTS[FlowKind(flow.kind)]
    return event_class(
        flow_id=flow.id,
        cpts_id=flow.cpts_id,
        region=cpts.region,
        departement=cpts.departement,
        kind=FlowKind(flow.kind),
        funder_id=flow.funder_id,
        funder_name=flow.funder.name,
        funder_siren=flow.funder.siren,
        funder_category=FunderCategory(flow.funder_category),
        fiscal_year=flow.fiscal_year,
        mission=Mission(flow.mission),
        part=Part(flow.part),
        amount=flow.amount,
        date=flow.flow_date,
        funder_reference=flow.funder_reference,
        reverses=flow.reverses,
    )


def by_key(pairs: list[tuple[str, Decimal]]) -> list[schemas.KeyAmount]:
    """Amounts added up by key, zeros left out, largest first."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for key, amount in pairs:
        totals[key] += amount
    items = [(k, v) for k, v in totals.items() if v != 0]
    return [schemas.KeyAmount(key=k, amount=v) for k, v in sorted(items, key=lambda kv: (-kv[1], kv[0]))]


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
        by_category=by_key([(s.category.value, s.amount) for s in sources]),
        note=declaration.note,
        submitted_at=declaration.submitted_at,
        submitted_by=declaration.submitted_by,
    )


def declaration_event(declaration: Declaration, cpts: RegistryCpts) -> payloads.DeclarationSubmitted:
    return payloads.DeclarationSubmitted(
        declaration_id=declaration.id,
        cpts_id=declaration.cpts_id,
        region=cpts.region,
        departement=cpts.departement,
        fiscal_year=declaration.fiscal_year,
        version=declaration.version,
        sources=[
            payloads.DeclaredSourceData(
                category=FunderCategory(s.category),
                funder_id=s.funder_id,
                funder_name=s.funder_name,
                funder_siren=s.funder_siren,
                amount=s.amount,
            )
            for s in declaration.sources
        ],
        total=declaration.total,
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


def reallocation_event(row: Reallocation, cpts: RegistryCpts) -> payloads.ReallocationDecided:
    return payloads.ReallocationDecided(
        reallocation_id=row.id,
        cpts_id=row.cpts_id,
        region=cpts.region,
        departement=cpts.departement,
        year=row.year,
        from_mission=Mission(row.from_mission),
        to_mission=Mission(row.to_mission),
        amount=row.amount,
        accepted=row.accepted,
        reason_code=row.reason_code,
        reason=row.reason,
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
        aci_days=envelope.aci_days,
        days_in_year=envelope.days_in_year,
        functioning=schemas.FunctioningView(
            base=envelope.functioning_base,
            reduction=envelope.functioning_reduction,
            amount=envelope.functioning,
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
    )


def envelope_event(envelope: Envelope, cpts: RegistryCpts) -> payloads.EnvelopeComputed:
    return payloads.EnvelopeComputed(
        cpts_id=cpts.cpts_id,
        region=cpts.region,
        departement=cpts.departement,
        year=envelope.year,
        parameters_version=envelope.parameters.version,
        illustrative=envelope.parameters.illustrative,
        size_tier=envelope.tier,
        population=envelope.population,
        maturity=envelope.maturity,
        aci_days=envelope.aci_days,
        functioning=envelope.functioning,
        lines=[
            payloads.EnvelopeLineData(
                mission=line.mission,
                fixed=line.fixed,
                snp_compensation=line.snp_compensation,
                variable_max=line.variable_max,
                achievement=None if line.achievement is None else f"{line.achievement:.4f}",
                variable_earned=line.variable_earned,
                reallocated=line.reallocated,
            )
            for line in envelope.lines
        ],
        maximum=envelope.maximum,
        theoretical=envelope.theoretical,
    )
