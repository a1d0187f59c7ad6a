"""Revenue booked in the accounts for a funder with no (or a smaller) declared source."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from cpts_audit.domain.categories import COMPARABLE
from cpts_audit.domain.facts import CptsFacts
from cpts_audit.domain.findings import Candidate, Evidence, Severity, euros
from cpts_audit.domain.parameters import ParameterVersion, Rule, tolerance


def evaluate(facts: CptsFacts, params_for: Callable[[int], ParameterVersion]) -> list[Candidate]:
    found: list[Candidate] = []
    for year, accounts in sorted(facts.accounts.items()):
        params = params_for(year).values
        declaration = facts.declarations.get(year)
        for group in COMPARABLE:
            # Without a declaration only company and industry money is checked: it must
            # always be named (P11, P12); the rest waits for the declaration.
            if declaration is None and not group.industry:
                continue
            booked = accounts.booked(group.documents)
            declared = declaration.declared(group.funding) if declaration else booked * 0
            gap = booked - declared
            if gap <= tolerance(params, booked):
                continue
            severity = Severity.HIGH if group.industry else Severity(params["severity"])
            what = "aucune source déclarée" if not declared else f"{euros(declared)} déclarés"
            evidence = [Evidence("document", accounts.document_id, {"event_id": accounts.event_id})]
            if declaration:
                evidence.append(Evidence("declaration", declaration.declaration_id, {"version": declaration.version}))
            if group.industry:
                evidence += [
                    Evidence(
                        "fec_line", accounts.document_id, {"line": e.line, "label": e.label, "amount": str(e.amount)}
                    )
                    for e in accounts.flagged
                    if "health_industry" in e.reasons
                ]
            found.append(
                Candidate(
                    year,
                    group.id,
                    severity,
                    gap,
                    f"Les comptes {year} comptabilisent {euros(booked)} de « {group.label_fr} » "
                    f"mais la déclaration des financements n'en mentionne que {what} : "
                    f"{euros(gap)} de financement non déclaré.",
                    tuple(evidence),
                )
            )
    return found


RULE = Rule(
    id="undeclared_source",
    title="Financement comptabilisé mais non déclaré",
    rationale="Sénat r25-032, propositions 11 et 12 : contrôle systématique des sources de financement "
    "à l'aide des comptes transmis, en particulier l'argent des entreprises et des laboratoires.",
    parameters=(
        ParameterVersion(
            "2025-1",
            date(2019, 1, 1),
            {"tolerance_amount": "500.00", "tolerance_share": "0.02", "severity": "medium"},
            "Écart toléré : le plus grand de 500 € et 2 % du montant comptabilisé ; "
            "l'argent des entreprises et de l'industrie de santé est toujours de sévérité haute.",
        ),
    ),
    evaluate=evaluate,
)
