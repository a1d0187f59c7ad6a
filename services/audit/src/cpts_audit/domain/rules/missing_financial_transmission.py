"""Owed financial documents overdue or rejected, or an activity report without its financial part."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from cpts_audit.domain.facts import CptsFacts, DocumentNotice
from cpts_audit.domain.findings import Candidate, Evidence, Severity, euros
from cpts_audit.domain.parameters import ParameterVersion, Rule

FINANCIAL_TYPES = frozenset({"fec", "income_statement", "balance_sheet", "spending_statement", "budget"})


def _accepted(facts: CptsFacts, year: int, document_type: str | None) -> bool:
    return any(
        d.kind == "received" and d.fiscal_year == year and d.document_type == document_type and d.verdict != "rejected"
        for d in facts.documents
    )


def _has_accounts(facts: CptsFacts, year: int) -> bool:
    return year in facts.accounts or any(
        d.kind == "received" and d.fiscal_year == year and d.document_type == "fec" and d.verdict != "rejected"
        for d in facts.documents
    )


def _cut_off(notice: DocumentNotice) -> bool:
    return notice.kind == "received" and notice.document_type == "activity_report" and notice.financial_part is False


def evaluate(facts: CptsFacts, params_for: Callable[[int], ParameterVersion]) -> list[Candidate]:
    found: list[Candidate] = []
    for notice in facts.documents:
        params = params_for(notice.fiscal_year).values
        year = notice.fiscal_year
        candidate: tuple[Severity, str] | None = None
        if notice.kind == "overdue" and notice.document_type in FINANCIAL_TYPES:
            if not _accepted(facts, year, notice.document_type):
                candidate = (
                    Severity(params["overdue_severity"]),
                    f"Document financier dû non transmis à échéance pour {year} : {notice.label}.",
                )
        elif notice.kind == "rejected" and notice.document_type in FINANCIAL_TYPES:
            if not _accepted(facts, year, notice.document_type):
                candidate = (
                    Severity(params["rejected_severity"]),
                    f"Le document financier transmis pour {year} ({notice.label}) a été rejeté "
                    "et n'a pas été remplacé par une version acceptée.",
                )
        elif _cut_off(notice) and not _has_accounts(facts, year):
            candidate = (
                Severity(params["cut_off_severity"]),
                f"Le rapport d'activité {year} a été transmis amputé de sa partie financière, "
                "sans comptes (FEC) pour l'année.",
            )
        if candidate is not None:
            found.append(_candidate(facts, notice, *candidate))
    return _distinct(found)


def _candidate(facts: CptsFacts, notice: DocumentNotice, severity: Severity, explanation: str) -> Candidate:
    """The amount at stake: the public money (ACI and FIR) received for the year."""
    at_stake = facts.received({"aci", "fir"}, notice.fiscal_year)
    detail = {"event_id": notice.event_id, "label": notice.label}
    # Overdue items of a year make one finding; nothing received that year lowers the stakes.
    key = "overdue" if notice.kind == "overdue" else f"{notice.kind}:{notice.document_type}"
    if at_stake <= 0 and severity is not Severity.HIGH:
        severity = Severity.LOW
    return Candidate(
        notice.fiscal_year,
        key,
        severity,
        at_stake,
        explanation + f" Argent public reçu pour l'année : {euros(at_stake)}.",
        (Evidence("document" if notice.kind != "overdue" else "requirement", notice.reference, detail),),
    )


def _distinct(candidates: list[Candidate]) -> list[Candidate]:
    """One finding per year and key, the explanations and evidence of its notices merged."""
    merged: dict[tuple[int, str], Candidate] = {}
    for c in candidates:
        known = merged.get((c.fiscal_year, c.key))
        if known is None:
            merged[(c.fiscal_year, c.key)] = c
        else:
            evidence = known.evidence + tuple(e for e in c.evidence if e not in known.evidence)
            explanation = known.explanation.split(" Argent public")[0] + " " + c.explanation
            merged[(c.fiscal_year, c.key)] = Candidate(
                c.fiscal_year, c.key, known.severity, known.amount, explanation, evidence
            )
    return list(merged.values())


RULE = Rule(
    id="missing_financial_transmission",
    title="Documents financiers non transmis, rejetés ou amputés",
    rationale="Sénat r25-032, proposition 9 : transmission obligatoire des documents budgétaires et comptables "
    "(un rapport d'activité « amputé de la partie financière » dans le Calvados).",
    parameters=(
        ParameterVersion(
            "2025-1",
            date(2019, 1, 1),
            {"overdue_severity": "medium", "rejected_severity": "medium", "cut_off_severity": "high"},
        ),
    ),
    evaluate=evaluate,
)
