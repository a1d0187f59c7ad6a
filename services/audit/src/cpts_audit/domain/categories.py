"""The one table that says which funder a revenue line of the accounts and a funding flow name.

Documents classify revenue with the associations' chart of accounts (``assurance_maladie``,
``subsidy_ars_fir``, ``pharma_industry``...); funding names funders by category (``aci``,
``fir``, ``pharma``...). The audit compares them by **funder group**: each group lists the
categories of both sides that mean the same funder. A documents category in a group with no
funding category (an unnamed public subsidy, a financial income) is revenue the declarations
cannot be compared with. The test ``test_every_category_is_mapped`` reads both sides' lists
(funding's published event schema, documents' chart) and fails on any category left out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FunderGroup:
    id: str
    label_fr: str
    funding: frozenset[str]  # funding's FunderCategory values
    documents: frozenset[str]  # documents' revenue categories (chart of accounts)
    industry: bool = False  # company or health-industry money (Senate P12)


def _group(id_: str, label: str, funding: set[str], documents: set[str], *, industry: bool = False) -> FunderGroup:
    return FunderGroup(id_, label, frozenset(funding), frozenset(documents), industry)


GROUPS: tuple[FunderGroup, ...] = (
    _group("assurance_maladie", "Assurance maladie (ACI)", {"aci"}, {"assurance_maladie"}),
    _group("ars_fir", "ARS (FIR)", {"fir"}, {"subsidy_ars_fir"}),
    _group("state", "État", {"state"}, {"subsidy_state"}),
    _group("region", "Région", {"local_region"}, {"subsidy_region"}),
    _group("departement", "Département", {"local_departement"}, {"subsidy_departement"}),
    _group(
        "municipal", "Communes et intercommunalités", {"local_commune", "local_intercommunality"}, {"subsidy_municipal"}
    ),
    _group("european_funds", "Fonds européens", {"european_funds"}, {"subsidy_eu"}),
    _group("private_company", "Entreprises privées", {"private_company"}, {"private_companies"}, industry=True),
    _group("pharma", "Laboratoires et industrie de santé", {"pharma"}, {"pharma_industry"}, industry=True),
    _group("foundation", "Fondations", {"foundation"}, {"private_foundations"}),
    _group(
        "own_resources",
        "Ressources propres",
        {"own_resources"},
        {"membership_fees", "services_sold", "ancillary_income", "private_donors", "founders_payments"},
    ),
    # Booked, but no declared category names this funder: not comparable with declarations.
    _group(
        "unnamed_public",
        "Financements publics non précisés",
        set(),
        {"subsidy_other_public", "public_contributions", "subsidy_social_bodies", "financial_contributions"},
    ),
    _group(
        "not_funding",
        "Autres produits (pas un financeur)",
        set(),
        {
            "production",
            "other_operating_income",
            "financial_income",
            "exceptional_income",
            "investment_subsidies_released",
            "provision_reversals",
            "dedicated_funds_used",
            "charge_transfers",
            "other_revenue",
        },
    ),
)

BY_ID = {g.id: g for g in GROUPS}


def group_of_funding(category: str) -> FunderGroup | None:
    return next((g for g in GROUPS if category in g.funding), None)


def group_of_documents(category: str) -> FunderGroup | None:
    return next((g for g in GROUPS if category in g.documents), None)


COMPARABLE: tuple[FunderGroup, ...] = tuple(g for g in GROUPS if g.funding)
