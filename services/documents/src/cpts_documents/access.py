"""Who may do what with the documents: the one table the routers, the access tests and the
README read (territory is the separate check: another territory's CPTS or document answers 404).

A CPTS files its own documents (the authorities of its territory may file one on its behalf).
Raw accounting documents, their validation reports and their bytes are read by the CPTS, the
authorities and the auditors; integrators build on events and aggregates (accounts summaries,
spending per mission, completeness), never on the documents themselves.
"""

from __future__ import annotations

from cpts_kit.access import AUTHORITIES, EVERY_ROLE, NATIONAL, AccessTable, Permission
from cpts_kit.auth import Role

READERS_OF_DOCUMENTS = EVERY_ROLE - {Role.INTEGRATOR}

ACCESS = AccessTable(
    "documents",
    [
        Permission(
            "document.upload",
            AUTHORITIES | {Role.CPTS},
            "A CPTS pushes its documents (from its accounting software); the authorities of its territory may "
            "file one on its behalf.",
        ),
        Permission(
            "document.read",
            READERS_OF_DOCUMENTS,
            "Document metadata and validation reports: the CPTS, the authorities of its territory and the auditors; "
            "not integrators.",
        ),
        Permission(
            "document.content",
            READERS_OF_DOCUMENTS,
            "The raw bytes of a document: the CPTS, the authorities of its territory and the auditors; "
            "not integrators.",
        ),
        Permission(
            "accounts.read",
            EVERY_ROLE,
            "The accounts summary and the spending per mission (aggregates): every role inside its territory.",
        ),
        Permission(
            "completeness.read",
            EVERY_ROLE,
            "What each CPTS owes and where it stands: every role, counted inside its territory.",
        ),
        Permission("requirements.read", EVERY_ROLE, "Every role reads what CPTS owe for a year."),
        Permission("requirements.set", NATIONAL, "The Cnam or the DGOS sets (or resets) what CPTS owe for a year."),
        Permission("overdue.check", NATIONAL, "The Cnam or the DGOS runs the overdue check on demand."),
        Permission(
            "reference.read",
            EVERY_ROLE,
            "Every role reads the reference tables (missions, spending template, chart of accounts).",
        ),
    ],
)
