"""Entries the documents service flagged as leisure, culture, receptions or gifts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from cpts_audit.domain.facts import ZERO, CptsFacts
from cpts_audit.domain.findings import Candidate, Evidence, Severity, euros
from cpts_audit.domain.parameters import ParameterVersion, Rule


def evaluate(facts: CptsFacts, params_for: Callable[[int], ParameterVersion]) -> list[Candidate]:
    found: list[Candidate] = []
    for year, accounts in sorted(facts.accounts.items()):
        params = params_for(year).values
        reasons = set(params["reasons"])
        entries = [e for e in accounts.flagged if reasons & set(e.reasons)]
        if not entries:
            continue
        total = sum((abs(e.amount) for e in entries), ZERO)
        if total < Decimal(params["minimum_amount"]):
            continue
        severity = Severity.HIGH if total >= Decimal(params["high_amount"]) else Severity.MEDIUM
        labels = "; ".join(f"ligne {e.line} « {e.label} » {euros(e.amount)}" for e in entries[:5])
        found.append(
            Candidate(
                year,
                "flagged",
                severity,
                total,
                f"Les comptes {year} contiennent {len(entries)} dépense(s) sans lien avec les missions "
                f"(loisirs, culture, réceptions, cadeaux) pour {euros(total)} : {labels}.",
                tuple(
                    Evidence(
                        "fec_line",
                        accounts.document_id,
                        {"line": e.line, "account": e.account, "label": e.label, "amount": str(e.amount)},
                    )
                    for e in entries
                ),
            )
        )
    return found


RULE = Rule(
    id="out_of_mission_spending",
    title="Dépenses hors missions (loisirs, culture, réceptions, cadeaux)",
    rationale="Sénat r25-032 : mésusages relevés (« cours de yoga, soirées théâtre ») ; proposition 10.",
    parameters=(
        ParameterVersion(
            "2025-1",
            date(2019, 1, 1),
            {
                "reasons": ["leisure_or_culture", "reception_or_gift"],
                "minimum_amount": "0.01",
                "high_amount": "500.00",
            },
            "Haute sévérité à partir de 500 € de dépenses signalées.",
        ),
    ),
    evaluate=evaluate,
)
