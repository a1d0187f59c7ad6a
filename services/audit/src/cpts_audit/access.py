"""Who may do what in the audit service (territory is checked apart: an ARS acts in its
region, a CPAM in its départements, a CPTS on itself)."""

from __future__ import annotations

from cpts_kit.access import EVERY_ROLE, NATIONAL, AccessTable, Permission
from cpts_kit.auth import Role

READERS = NATIONAL | {Role.AUDITOR, Role.ARS, Role.CPAM, Role.CPTS}
HANDLERS = frozenset({Role.AUDITOR, Role.ARS, Role.CPAM})

ACCESS = AccessTable(
    "audit",
    [
        Permission(
            "finding.read",
            READERS,
            "Findings with their evidence: national roles and auditors everywhere, an ARS its region, "
            "a CPAM its départements, a CPTS its own (read only); integrators only see aggregates.",
        ),
        Permission(
            "finding.update",
            HANDLERS,
            "Auditors, and the ARS and CPAM in their territory, move a finding in its workflow with a reason.",
        ),
        Permission(
            "finding.summary", EVERY_ROLE, "Counts of findings by rule, severity and status, in the caller's territory."
        ),
        Permission("risk.read", READERS, "A CPTS's risk score and its contributions (a CPTS sees its own)."),
        Permission(
            "risk.rank",
            NATIONAL | {Role.AUDITOR, Role.ARS, Role.CPAM},
            "The ranking of CPTS by risk, in the caller's territory.",
        ),
        Permission(
            "report.missions",
            EVERY_ROLE,
            "Theoretical envelope, ACI paid and spent per mission, in the caller's territory.",
        ),
        Permission("rule.read", EVERY_ROLE, "The rules with their rationale and versioned parameters."),
        Permission("replay", NATIONAL, "Rebuild every projection and finding from the topics (national roles)."),
    ],
)
