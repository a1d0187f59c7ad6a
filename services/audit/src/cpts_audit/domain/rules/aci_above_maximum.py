"""ACI paid for a contract year above the envelope's maximum: from funding's
``envelope.over_maximum`` event when it exists, and recomputed from flows and envelopes (the
lettre d'intention lump sum, paid before the contract, is outside the envelope)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from cpts_audit.domain.facts import CptsFacts
from cpts_audit.domain.findings import Candidate, Evidence, Severity, euros
from cpts_audit.domain.parameters import ParameterVersion, Rule, money


def evaluate(facts: CptsFacts, params_for: Callable[[int], ParameterVersion]) -> list[Candidate]:
    found: list[Candidate] = []
    years = sorted(set(facts.envelopes) | set(facts.over_maximum))
    for year in years:
        params = params_for(year).values
        reported = facts.over_maximum.get(year)
        envelope = facts.envelopes.get(year)
        flows = [flow for flow in facts.payments({"aci"}, year) if flow.against_envelope]
        paid = facts.envelope_paid(year)
        maximum = envelope.maximum if envelope else reported.maximum if reported else None
        if maximum is None:
            continue
        excess = paid - maximum
        if reported is not None and (envelope is None or reported.excess > excess):
            excess, paid = reported.excess, reported.paid
        if excess <= money(params["tolerance_amount"]):
            continue
        evidence: list[Evidence] = []
        if envelope:
            evidence.append(Evidence("envelope", envelope.event_id, {"maximum": str(envelope.maximum)}))
        if reported:
            evidence.append(Evidence("event", reported.event_id, {"type": "envelope.over_maximum"}))
        flow_ids = list(reported.flow_ids) if reported else []
        flow_ids += [f.flow_id for f in flows if f.flow_id not in flow_ids]
        evidence += [Evidence("flow", flow_id) for flow_id in flow_ids]
        found.append(
            Candidate(
                year,
                "aci",
                Severity.HIGH,
                excess,
                f"L'Assurance maladie a versé {euros(paid)} d'ACI pour {year}, au-delà du maximum de "
                f"l'enveloppe ({euros(maximum)}) : {euros(excess)} de trop.",
                tuple(evidence),
            )
        )
    return found


RULE = Rule(
    id="aci_above_maximum",
    title="ACI versé au-delà du maximum de l'enveloppe",
    rationale="ACI 2019 et avenant 2 : les montants par taille sont des plafonds ; Sénat r25-032, proposition 2.",
    parameters=(
        ParameterVersion("2025-1", date(2019, 1, 1), {"tolerance_amount": "1.00"}, "Un euro d'arrondi toléré."),
    ),
    evaluate=evaluate,
)
