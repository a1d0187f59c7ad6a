"""Who may do what in the registry: the one table the routers, the access tests and the
README read (territory is the separate check: another territory's CPTS answers 404).

The division of powers follows the ACI (reference/aci_cpts.md): the ARS validates the health
project (the DGOS nationally), the Assurance maladie signs the ACI (the Cnam, a CPAM in its
départements), either may suspend or dissolve. A CPTS keeps its own name, members and board up
to date; its legal identifiers and legal form change only through the authorities.
"""

from __future__ import annotations

from cpts_kit.access import ASSURANCE_MALADIE, AUTHORITIES, EVERY_ROLE, NATIONAL, STATE, AccessTable, Permission
from cpts_kit.auth import Role

# The fields of PATCH /v1/cpts/{id} a CPTS may change itself; the others are `cpts.update:identity`.
SELF_SERVICE_FIELDS = frozenset({"name"})

ACCESS = AccessTable(
    "registry",
    [
        Permission(
            "cpts.read",
            EVERY_ROLE,
            "Every role reads the CPTS of its territory: identity, status history, territory, members, board.",
        ),
        Permission(
            "coverage.read",
            EVERY_ROLE,
            "Coverage of the nation (national roles), of a region (its ARS) or a département (its CPAM or ARS).",
        ),
        Permission("reference.read", EVERY_ROLE, "Every role reads the reference lists (professions)."),
        Permission(
            "cpts.register",
            NATIONAL | {Role.ARS},
            "The Cnam, the DGOS, or the ARS of the region registers a CPTS (with its intention letter).",
        ),
        Permission(
            "cpts.update:name",
            AUTHORITIES | {Role.CPTS},
            "A CPTS renames itself; the authorities of its territory may too.",
        ),
        Permission(
            "cpts.update:identity",
            AUTHORITIES,
            "SIREN, SIRET, FINESS, legal form and CPAM of attachment change through the ARS or the CPAM "
            "(or a national role), never by the CPTS itself.",
        ),
        Permission(
            "lifecycle:health_project_validated",
            STATE,
            "Validating the health project is the ARS's decision (the DGOS nationally).",
        ),
        Permission(
            "lifecycle:aci_signed",
            ASSURANCE_MALADIE,
            "Signing (or reinstating) the ACI is the Assurance maladie's act (the Cnam, the CPAM).",
        ),
        Permission("lifecycle:suspended", AUTHORITIES, "The ARS or the Assurance maladie suspends a CPTS."),
        Permission("lifecycle:dissolved", AUTHORITIES, "The ARS or the Assurance maladie records a dissolution."),
        Permission(
            "territory.set",
            NATIONAL | {Role.ARS},
            "The ARS of the region (or a national role) sets the communes a CPTS covers.",
        ),
        Permission(
            "members.report",
            AUTHORITIES | {Role.CPTS},
            "A CPTS reports its members by profession; the authorities of its territory may too.",
        ),
        Permission(
            "governance.set",
            AUTHORITIES | {Role.CPTS},
            "A CPTS declares its board; the authorities of its territory may too.",
        ),
    ],
)
