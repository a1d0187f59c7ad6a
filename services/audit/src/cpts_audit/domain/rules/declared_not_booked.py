"""A declared funding source the accounts do not show (the reverse of undeclared_source)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from cpts_audit.domain.categories import COMPARABLE
from cpts_audit.domain.facts import CptsFacts
from cpts_audit.domain.findings import Candidate, Evidence, Severity, euros
from cpts_audit.domain.parameters import ParameterVersion, Rule, tolerance


def evaluate(facts: CptsFacts, params_for: Callable[[int], ParameterVersion]) -> list[Candidate]:
    found: list[Candidate] = []
    for year, declaration in sorted(facts.declarations.items()):
        accounts = facts.accounts.get(year)
        if accounts is None:
            continue  # no accounts yet: missing_financial_transmission speaks for that
        params = params_for(year).values
        for group in COMPARABLE:
            declared = declaration.declared(group.funding)
            booked = accounts.booked(group.documents)
            gap = declared - booked
            if gap <= tolerance(params, declared):
                continue
            found.append(
                Candidate(
                    year,
                    group.id,
                    Severity(params["severity"]),
                    gap,
                    f"La CPTS a déclaré {euros(declared)} de « {group.label_fr} » pour {year}, "
                    f"mais ses comptes n'en comptabilisent que {euros(booked)} : {euros(gap)} introuvables.",
                    (
                        Evidence("declaration", declaration.declaration_id, {"version": declaration.version}),
                        Evidence("document", accounts.document_id, {"event_id": accounts.event_id}),
                    ),
                )
            )
    return found


RULE = Rule(
    id="declared_not_booked",
    title="Financement déclaré mais non comptabilisé",
    rationale="Sénat r25-032, proposition 11 : les sources déclarées doivent se retrouver dans les comptes.",
    parameters=(
        ParameterVersion(
            "2025-1",
            date(2019, 1, 1),
            {"tolerance_amount": "500.00", "tolerance_share": "0.02", "severity": "medium"},
            "Écart toléré : le plus grand de 500 € et 2 % du montant déclaré.",
        ),
    ),
    evaluate=evaluate,
)
