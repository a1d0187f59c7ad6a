"""ACI paid by the Assurance maladie, or FIR paid by the ARS, that the accounts do not book.

Timing: a payment of a fiscal year dated more than ``timing_days`` after the year's end (the
variable part paid at the next anniversary, a late balance) may be booked in a later year's
accounts, so it is left out of the comparison; the rest must be in that year's revenue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

from cpts_audit.domain.categories import BY_ID
from cpts_audit.domain.facts import ZERO, CptsFacts
from cpts_audit.domain.findings import Candidate, Evidence, Severity, euros
from cpts_audit.domain.parameters import ParameterVersion, Rule, tolerance


def evaluate(facts: CptsFacts, params_for: Callable[[int], ParameterVersion]) -> list[Candidate]:
    found: list[Candidate] = []
    for year, accounts in sorted(facts.accounts.items()):
        params = params_for(year).values
        cutoff = date(year, 12, 31) + timedelta(days=int(params["timing_days"]))
        for group_id in params["groups"]:
            group = BY_ID[group_id]
            flows = [f for f in facts.payments(group.funding, year) if f.on <= cutoff]
            paid = sum((f.signed_received for f in flows), ZERO)
            booked = accounts.booked(group.documents)
            gap = paid - booked
            if paid <= 0 or gap <= tolerance(params, paid):
                continue
            severity = Severity.HIGH if gap >= paid * Decimal(str(params["high_share"])) else Severity.MEDIUM
            found.append(
                Candidate(
                    year,
                    group.id,
                    severity,
                    gap,
                    f"{euros(paid)} de « {group.label_fr} » ont été versés pour {year} "
                    f"(jusqu'au {cutoff:%d/%m/%Y}), mais les comptes n'en comptabilisent que {euros(booked)}.",
                    (
                        Evidence("document", accounts.document_id, {"event_id": accounts.event_id}),
                        *(
                            Evidence("flow", f.flow_id, {"amount": str(f.amount), "date": f.on.isoformat()})
                            for f in flows
                        ),
                    ),
                )
            )
    return found


RULE = Rule(
    id="paid_not_booked",
    title="Versement ACI ou FIR absent des comptes",
    rationale="Sénat r25-032, propositions 9 et 11 : l'argent public versé doit se retrouver "
    "dans les comptes transmis.",
    parameters=(
        ParameterVersion(
            "2025-1",
            date(2019, 1, 1),
            {
                "groups": ["assurance_maladie", "ars_fir"],
                "timing_days": 90,
                "tolerance_amount": "500.00",
                "tolerance_share": "0.02",
                "high_share": "0.50",
            },
            "Versements datés jusqu'à 90 jours après la clôture ; haute sévérité si plus de la moitié manque.",
        ),
    ),
    evaluate=evaluate,
)
