"""Real-estate acquisitions (land, buildings, buildings in progress), direct or through SCI shares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from cpts_audit.domain.facts import ZERO, CptsFacts
from cpts_audit.domain.findings import Candidate, Evidence, Severity, euros
from cpts_audit.domain.parameters import ParameterVersion, Rule, money


def _sci(label: str) -> bool:
    words = label.lower().replace(".", " ").split()
    return "sci" in words or "immobilière" in label.lower()


def evaluate(facts: CptsFacts, params_for: Callable[[int], ParameterVersion]) -> list[Candidate]:
    found: list[Candidate] = []
    for year, accounts in sorted(facts.accounts.items()):
        params = params_for(year).values
        direct = [e for e in accounts.flagged if "real_estate" in e.reasons]
        shares = [e for e in accounts.flagged if e.account[:2] in ("26", "27") and _sci(e.label)]
        amount = accounts.real_estate + sum((e.amount for e in shares), ZERO)
        if amount <= money(params["minimum_amount"]):
            continue
        found.append(
            Candidate(
                year,
                "acquisition",
                Severity.HIGH,
                amount,
                f"Les comptes {year} enregistrent {euros(amount)} d'acquisitions immobilières "
                "(terrains, constructions ou parts de SCI), un investissement sans lien direct avec les missions.",
                (
                    Evidence("document", accounts.document_id, {"event_id": accounts.event_id}),
                    *(
                        Evidence(
                            "fec_line",
                            accounts.document_id,
                            {"line": e.line, "account": e.account, "label": e.label, "amount": str(e.amount)},
                        )
                        for e in direct + shares
                    ),
                ),
            )
        )
    return found


RULE = Rule(
    id="real_estate_purchase",
    title="Acquisition immobilière",
    rationale="Sénat r25-032 : mésusages relevés (« investissements immobiliers ») ; proposition 10.",
    parameters=(ParameterVersion("2025-1", date(2019, 1, 1), {"minimum_amount": "0.00"}),),
    evaluate=evaluate,
)
