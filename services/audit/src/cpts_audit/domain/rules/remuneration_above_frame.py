"""Pay per hour or per person and year above the national caps, where the spending
statements carry hours (or the number of persons paid)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from cpts_audit.domain.facts import ZERO, CptsFacts
from cpts_audit.domain.findings import Candidate, Evidence, Severity, euros
from cpts_audit.domain.parameters import ParameterVersion, Rule


def evaluate(facts: CptsFacts, params_for: Callable[[int], ParameterVersion]) -> list[Candidate]:
    found: list[Candidate] = []
    for year, spending in sorted(facts.spending.items()):
        params = params_for(year).values
        hourly_cap, yearly_cap = Decimal(params["hourly_cap"]), Decimal(params["yearly_cap"])
        over: list[tuple[str, Decimal, str]] = []
        for line in spending.remunerations:
            if line.hours and line.hours > 0:
                rate = (line.amount / line.hours).quantize(Decimal("0.01"))
                if rate > hourly_cap:
                    excess = line.amount - hourly_cap * line.hours
                    over.append((line.label, excess, f"{euros(rate)} de l'heure (plafond {euros(hourly_cap)})"))
            elif line.persons and line.persons > 0:
                per_person = (line.amount / line.persons).quantize(Decimal("0.01"))
                if per_person > yearly_cap:
                    excess = line.amount - yearly_cap * line.persons
                    over.append((line.label, excess, f"{euros(per_person)} par personne (plafond {euros(yearly_cap)})"))
        if not over:
            continue
        total = sum((excess for _, excess, _ in over), ZERO).quantize(Decimal("0.01"))
        found.append(
            Candidate(
                year,
                "pay",
                Severity(params["severity"]),
                total,
                f"Rémunérations {year} au-dessus du cadre national : "
                + "; ".join(f"« {label} » {why}" for label, _, why in over)
                + f". Dépassement : {euros(total)}.",
                (Evidence("document", spending.document_id, {"event_id": spending.event_id}),),
            )
        )
    return found


RULE = Rule(
    id="remuneration_above_frame",
    title="Rémunérations au-dessus du cadre national",
    rationale="Sénat r25-032, proposition 10 : renforcer le cadrage national des rémunérations versées par les CPTS.",
    parameters=(
        ParameterVersion(
            "2025-1",
            date(2019, 1, 1),
            {"hourly_cap": "150.00", "yearly_cap": "120000.00", "severity": "medium"},
            "Plafonds illustratifs (aucun cadre national publié) : 150 € de l'heure, 120 000 € par personne et par an.",
        ),
    ),
    evaluate=evaluate,
)
