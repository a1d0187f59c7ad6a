"""Hoarded credits: available reserves or cash above a number of months of expenses while
funding continues, or reserves growing year after year while funding continues."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from cpts_audit.domain.facts import CptsFacts
from cpts_audit.domain.findings import Candidate, Evidence, Severity, euros
from cpts_audit.domain.parameters import ParameterVersion, Rule

PUBLIC = {"aci", "fir"}


def evaluate(facts: CptsFacts, params_for: Callable[[int], ParameterVersion]) -> list[Candidate]:
    found: list[Candidate] = []
    years = sorted(facts.accounts)
    for year in years:
        accounts = facts.accounts[year]
        params = params_for(year).values
        funded = facts.received(PUBLIC, year) + facts.received(PUBLIC, year + 1)
        if funded <= 0 or accounts.expense_total <= 0:
            continue
        monthly = accounts.expense_total / 12
        held = max(accounts.available_reserves, accounts.cash)
        months = (held / monthly).quantize(Decimal("0.1"))
        limit, high = Decimal(str(params["months"])), Decimal(str(params["high_months"]))
        evidence = (Evidence("document", accounts.document_id, {"event_id": accounts.event_id}),)
        if months > limit:
            excess = (held - monthly * limit).quantize(Decimal("0.01"))
            found.append(
                Candidate(
                    year,
                    "months",
                    Severity.HIGH if months > high else Severity.MEDIUM,
                    excess,
                    f"Fin {year}, la CPTS détient {euros(held)} de réserves ou de trésorerie, soit {months} mois "
                    f"de dépenses (seuil : {limit} mois), alors que l'argent public continue d'arriver "
                    f"({euros(funded)} pour {year} et {year + 1}).",
                    evidence,
                )
            )
        streak = int(params["growth_years"])
        window = [y for y in years if year - streak < y <= year]
        if len(window) == streak and window == list(range(year - streak + 1, year + 1)):
            values = [facts.accounts[y].available_reserves for y in window]
            if all(b > a for a, b in itertools.pairwise(values)) and values[-1] > 0:
                found.append(
                    Candidate(
                        year,
                        "growth",
                        Severity.MEDIUM,
                        values[-1] - values[0],
                        f"Les réserves disponibles croissent chaque année depuis {window[0]} "
                        f"({euros(values[0])} → {euros(values[-1])}) alors que le financement continue.",
                        tuple(Evidence("document", facts.accounts[y].document_id) for y in window),
                    )
                )
    return found


RULE = Rule(
    id="hoarding",
    title="Thésaurisation des crédits",
    rationale="Sénat r25-032 : « certaines CPTS thésaurisent même une partie des crédits reçus ».",
    parameters=(
        ParameterVersion(
            "2025-1",
            date(2019, 1, 1),
            {"months": "12", "high_months": "24", "growth_years": 3},
            "Plus de 12 mois de dépenses en réserve (haute au-delà de 24), ou trois années de hausse.",
        ),
    ),
    evaluate=evaluate,
)
