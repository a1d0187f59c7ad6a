"""Who may do what in the indicators service: one table, read by the routers, the access
tests and the README. Territory is checked separately: a role acts only inside its own."""

from __future__ import annotations

from cpts_kit.access import AUTHORITIES, EVERY_ROLE, NATIONAL, AccessTable, Permission
from cpts_kit.auth import Role

ACCESS = AccessTable(
    "indicators",
    [
        Permission("catalogue.read", EVERY_ROLE, "Every role reads the catalogue versions."),
        Permission(
            "catalogue.load",
            NATIONAL,
            "The Cnam and the DGOS load a new catalogue version (the shipped one is illustrative).",
        ),
        Permission("targets.read", EVERY_ROLE, "Every role reads the targets of the CPTS it sees."),
        Permission(
            "targets.set",
            AUTHORITIES,
            "The ARS, the CPAM and the national roles set a CPTS's targets; adjustments need a reason.",
        ),
        Permission("measurement.read", EVERY_ROLE, "Every role reads the measurements of the CPTS it sees."),
        Permission(
            "measurement.record",
            AUTHORITIES | {Role.CPTS, Role.INTEGRATOR},
            "The CPTS itself, its information system (integrator) and the authorities record measurements.",
        ),
        Permission("achievement.read", EVERY_ROLE, "Every role reads the achievement of the CPTS it sees."),
        Permission("dialogue.read", EVERY_ROLE, "Every role reads the dialogues de gestion of the CPTS it sees."),
        Permission(
            "dialogue.record",
            AUTHORITIES,
            "The ARS, the CPAM and the national roles record a dialogue de gestion.",
        ),
        Permission(
            "dialogue.validate",
            frozenset({Role.ARS, Role.CPAM}),
            "The ARS and the CPAM each validate a dialogue for their own side; both validations freeze the year.",
        ),
        Permission(
            "dialogues.missing",
            AUTHORITIES | {Role.AUDITOR},
            "The authorities and the auditors list the dialogues missing in their territory.",
        ),
        Permission(
            "analytics.activity",
            AUTHORITIES | {Role.AUDITOR},
            "The authorities and the auditors read the activity signals in their territory.",
        ),
    ],
)
