"""ACI and FIR paid for the same mission and year after the ACI signature (double funding)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from cpts_audit.domain.facts import ZERO, CptsFacts
from cpts_audit.domain.findings import Candidate, Evidence, Severity, euros
from cpts_audit.domain.parameters import ParameterVersion, Rule, money
from cpts_kit.missions import CONVENTIONAL


def evaluate(facts: CptsFacts, params_for: Callable[[int], ParameterVersion]) -> list[Candidate]:
    signed = facts.cpts.aci_signed_on
    if signed is None:
        return []
    found: list[Candidate] = []
    missions = {m.value for m in CONVENTIONAL}
    for year in facts.years():
        params = params_for(year).values
        for mission in sorted(missions):
            aci = [f for f in facts.payments({"aci"}, year) if f.mission == mission and f.on >= signed]
            fir = [f for f in facts.payments({"fir"}, year) if f.mission == mission and f.on >= signed]
            fir_amount = sum((f.signed_received for f in fir), ZERO)
            if not aci or fir_amount <= money(params["minimum_amount"]):
                continue
            aci_amount = sum((f.signed_received for f in aci), ZERO)
            found.append(
                Candidate(
                    year,
                    mission,
                    Severity(params["severity"]),
                    fir_amount,
                    f"La mission « {mission} » est financée en {year} à la fois par l'ACI ({euros(aci_amount)}) "
                    f"et par le FIR ({euros(fir_amount)}) après la signature de l'ACI le {signed:%d/%m/%Y}.",
                    tuple(
                        Evidence("flow", f.flow_id, {"category": f.category, "amount": str(f.amount)})
                        for f in aci + fir
                    ),
                )
            )
    return found


RULE = Rule(
    id="aci_fir_same_mission",
    title="ACI et FIR sur la même mission après la signature",
    rationale="Sénat r25-032, proposition 1 : découpler les financements ARS et Assurance maladie.",
    parameters=(ParameterVersion("2025-1", date(2019, 1, 1), {"minimum_amount": "0.00", "severity": "medium"}),),
    evaluate=evaluate,
)
