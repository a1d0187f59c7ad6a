"""Event payloads built from the service's rows and domain objects (what the commands enqueue
in the outbox)."""

from __future__ import annotations

from decimal import Decimal

from cpts_funding.domain.categories import FunderCategory
from cpts_funding.domain.envelope import Envelope
from cpts_funding.domain.flows import FlowKind
from cpts_funding.domain.levers import PolicyLevers
from cpts_funding.domain.missions import Part
from cpts_funding.events import payloads
from cpts_funding.storage.models import Declaration, Flow, Reallocation, RegistryCpts
from cpts_kit.missions import Mission


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
        aci_basis=flow.aci_basis,
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


def over_maximum_event(
    cpts: RegistryCpts, year: int, maximum: Decimal, paid: Decimal, flow_ids: list[str]
) -> payloads.OverMaximum:
    return payloads.OverMaximum(
        cpts_id=cpts.cpts_id,
        region=cpts.region,
        departement=cpts.departement,
        year=year,
        maximum=maximum,
        paid=paid,
        excess=paid - maximum,
        flow_ids=flow_ids,
    )


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.4f}"


def policy_event(levers: PolicyLevers, version: int, author: str, reason: str) -> payloads.PolicyVersioned:
    return payloads.PolicyVersioned(
        year=levers.year,
        version=version,
        author=author,
        reason=reason,
        levers=payloads.LeversData(
            functioning_reduction=[
                payloads.ReductionStepData(from_maturity=s.from_maturity, reduction=f"{s.reduction:.4f}")
                for s in levers.functioning_reduction
            ],
            variable_share=_rate(levers.variable_share),
            fungibility_share=_rate(levers.fungibility_share),
            fungibility_national_cap=levers.fungibility_national_cap,
        ),
    )
