"""The kinds of documents a CPTS transmits (the missions are the kit's: ``cpts_kit.missions``)."""

from __future__ import annotations

from enum import StrEnum


class DocumentType(StrEnum):
    FEC = "fec"  # fichier des écritures comptables (art. A.47 A-1 LPF)
    INCOME_STATEMENT = "income_statement"  # compte de résultat
    BALANCE_SHEET = "balance_sheet"  # bilan
    BUDGET = "budget"  # budget prévisionnel
    ACTIVITY_REPORT = "activity_report"  # rapport d'activité (with or without its financial part)
    SPENDING_STATEMENT = "spending_statement"  # état des dépenses par mission (CSV template)
    SUPPORTING_DOCUMENT = "supporting_document"  # pièce justificative


LABELS_FR: dict[DocumentType, str] = {
    DocumentType.FEC: "Fichier des écritures comptables (FEC)",
    DocumentType.INCOME_STATEMENT: "Compte de résultat",
    DocumentType.BALANCE_SHEET: "Bilan",
    DocumentType.BUDGET: "Budget prévisionnel",
    DocumentType.ACTIVITY_REPORT: "Rapport d'activité",
    DocumentType.SPENDING_STATEMENT: "État des dépenses par mission",
    DocumentType.SUPPORTING_DOCUMENT: "Pièce justificative",
}

# Supporting documents accumulate; every other type has one current version per fiscal year,
# and a new upload replaces (and keeps) the previous one.
VERSIONED: frozenset[DocumentType] = frozenset(set(DocumentType) - {DocumentType.SUPPORTING_DOCUMENT})


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    ACCEPTED_WITH_WARNINGS = "accepted_with_warnings"
    REJECTED = "rejected"
