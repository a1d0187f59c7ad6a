"""Who may do what in the funding service: the one table the routers, the access tests and the
README read (territory is the separate check: another territory's resource answers 404, a body
naming a CPTS outside the caller's territory 422).

Each payer records its own money (reference/aci_cpts.md; Senate proposal P1 on decoupling the
ARS and the Assurance maladie): ACI money is recorded, corrected and recovered by the Assurance
maladie only (the Cnam, a CPAM in its départements); FIR money by the ARS of the region (the
DGOS nationally); other money by the national roles and the ARS/CPAM of the territory. A
reversal follows the rule of the flow it reverses (the same ``flow.record:<category>``
action). Integrators read aggregates and events, not the raw lists of flows and declarations.
"""

from __future__ import annotations

from cpts_funding.domain.categories import FunderCategory
from cpts_kit.access import ASSURANCE_MALADIE, AUTHORITIES, EVERY_ROLE, NATIONAL, STATE, AccessTable, Permission
from cpts_kit.auth import Role

# Raw lists (flows, declarations, the CSV export): everyone but the integrator.
RAW_READERS = EVERY_ROLE - {Role.INTEGRATOR}

FLOW_RECORDERS: dict[FunderCategory, frozenset[Role]] = {category: AUTHORITIES for category in FunderCategory} | {
    FunderCategory.ACI: ASSURANCE_MALADIE,
    FunderCategory.FIR: STATE,
}


def flow_action(category: FunderCategory | str) -> str:
    """The action guarding a flow (and its reversal) of this funder category."""
    return f"flow.record:{FunderCategory(category).value}"


def _flow_rule(category: FunderCategory) -> str:
    if category is FunderCategory.ACI:
        return "ACI money: the Assurance maladie only (the Cnam, a CPAM in its départements); reversals alike."
    if category is FunderCategory.FIR:
        return "FIR money: the ARS of the region (the DGOS nationally); reversals alike."
    return f"{category.value} money: the national roles and the ARS/CPAM of the territory; reversals alike."


ACCESS = AccessTable(
    "funding",
    [
        Permission("reference.read", EVERY_ROLE, "Every role reads the funder categories and the missions."),
        Permission("funder.read", EVERY_ROLE, "Every role reads the funders (reference data)."),
        Permission(
            "funder.create:national",
            NATIONAL,
            "A national funder (no territory: the Cnam, a laboratory, a foundation) is created by a national role.",
        ),
        Permission(
            "funder.create:territorial",
            AUTHORITIES,
            "A funder of a territory (a collectivité) is created by a national role or the ARS/CPAM of that "
            "territory; a SIREN already used answers 409 without naming its holder.",
        ),
        *(Permission(flow_action(c), FLOW_RECORDERS[c], _flow_rule(c)) for c in FunderCategory),
        Permission("flow.read", RAW_READERS, "Flows of the caller's territory; not the integrator (aggregates only)."),
        Permission("flow.export", RAW_READERS, "The flows CSV of the caller's territory; not the integrator."),
        Permission(
            "declaration.submit",
            AUTHORITIES | {Role.CPTS},
            "A CPTS declares its funding sources; the authorities of its territory may too.",
        ),
        Permission("declaration.read", RAW_READERS, "Declarations of the caller's territory; not the integrator."),
        Permission("envelope.read", EVERY_ROLE, "ACI envelopes and schedules of the caller's territory."),
        Permission("contract.read", EVERY_ROLE, "The ACI contract (missions and start dates) in the territory."),
        Permission(
            "contract.set",
            AUTHORITIES,
            "The tripartite contract's missions and start dates are recorded by the Assurance maladie or the ARS.",
        ),
        Permission(
            "achievements.override",
            AUTHORITIES,
            "An administrator's override of the achievement rates (recorded as such; the indicators service "
            "normally publishes them).",
        ),
        Permission(
            "reallocation.request",
            AUTHORITIES | {Role.CPTS},
            "A CPTS (or an authority of its territory) asks to move envelope between missions.",
        ),
        Permission("reallocation.read", EVERY_ROLE, "Reallocation decisions of the caller's territory."),
        Permission("parameters.read", EVERY_ROLE, "Every role reads the ACI parameter versions and policy levers."),
        Permission("parameters.load", NATIONAL, "The Cnam and the DGOS load a new ACI parameter version."),
        Permission(
            "policy.set",
            NATIONAL,
            "The Cnam and the DGOS version a year's policy levers (author, reason); a closed year never changes.",
        ),
        Permission("analytics.read", EVERY_ROLE, "Aggregates and steering analytics of the caller's territory."),
        Permission("overlaps.read", EVERY_ROLE, "The ACI/FIR overlap report of the caller's territory."),
        Permission(
            "simulation.run",
            NATIONAL | {Role.AUDITOR},
            "The national what-if simulator (national cost of a parameter set); it changes nothing.",
        ),
    ],
)
