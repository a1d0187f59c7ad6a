"""Pharmaceutical and company money: its share of revenue and its named counterparties."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from cpts_audit.domain.categories import GROUPS
from cpts_audit.domain.facts import ZERO, CptsFacts
from cpts_audit.domain.findings import Candidate, Evidence, Severity, euros
from cpts_audit.domain.parameters import ParameterVersion, Rule

INDUSTRY = [g for g in GROUPS if g.industry]


def evaluate(facts: CptsFacts, params_for: Callable[[int], ParameterVersion]) -> list[Candidate]:
    found: list[Candidate] = []
    for year, accounts in sorted(facts.accounts.items()):
        params = params_for(year).values
        amount = sum((accounts.booked(g.documents) for g in INDUSTRY), ZERO)
        if amount <= 0 or accounts.revenue_total <= 0:
            continue
        share = (amount / accounts.revenue_total).quantize(Decimal("0.0001"))
        if share < Decimal(params["share"]) and amount < Decimal(params["amount"]):
            continue
        named = sorted(
            {
                f.funder_name
                for f in facts.flows
                if f.fiscal_year == year and f.category in {"pharma", "private_company"}
            }
        )
        declaration = facts.declarations.get(year)
        if declaration:
            named = sorted(
                set(named)
                | {
                    s.funder_name
                    for s in declaration.sources
                    if s.funder_name and s.category in {"pharma", "private_company"}
                }
            )
        lines = [e for e in accounts.flagged if "health_industry" in e.reasons]
        counterparties = ", ".join(named) if named else "non nommées"
        found.append(
            Candidate(
                year,
                "industry",
                Severity(params["severity"]),
                amount,
                f"Les entreprises et l'industrie de santé apportent {euros(amount)} en {year}, "
                f"soit {share * 100:.1f} % des produits ; contreparties : {counterparties}.",
                (
                    Evidence("document", accounts.document_id, {"event_id": accounts.event_id}),
                    *(
                        Evidence(
                            "fec_line",
                            accounts.document_id,
                            {"line": e.line, "label": e.label, "amount": str(e.amount)},
                        )
                        for e in lines
                    ),
                ),
            )
        )
    return found


RULE = Rule(
    id="health_industry_funding",
    title="Financement par l'industrie de santé ou des entreprises",
    rationale="Sénat r25-032, proposition 12 : encadrer le financement des CPTS par des entreprises "
    "et singulièrement par des laboratoires pharmaceutiques.",
    parameters=(
        ParameterVersion(
            "2025-1",
            date(2019, 1, 1),
            {"share": "0.0500", "amount": "10000.00", "severity": "medium"},
            "Signalé à partir de 5 % des produits ou de 10 000 €.",
        ),
    ),
    evaluate=evaluate,
)
