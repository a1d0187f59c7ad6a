"""Funder categories: who pays a CPTS (DESIGN.md, "funding"; Senate report r25-032)."""

from __future__ import annotations

from enum import StrEnum


class FunderCategory(StrEnum):
    ACI = "aci"  # Assurance maladie, under the ACI (accord conventionnel interprofessionnel)
    FIR = "fir"  # ARS, from the FIR (fonds d'intervention régional)
    LOCAL_REGION = "local_region"  # collectivité: conseil régional
    LOCAL_DEPARTEMENT = "local_departement"  # collectivité: conseil départemental
    LOCAL_COMMUNE = "local_commune"  # collectivité: commune
    LOCAL_INTERCOMMUNALITY = "local_intercommunality"  # collectivité: EPCI
    STATE = "state"  # the State, other credits
    EUROPEAN_FUNDS = "european_funds"
    PRIVATE_COMPANY = "private_company"
    PHARMA = "pharma"  # pharmaceutical laboratory or other health-industry company
    FOUNDATION = "foundation"
    OWN_RESOURCES = "own_resources"  # membership fees and other own income


LABELS_FR = {
    FunderCategory.ACI: "Assurance maladie (ACI)",
    FunderCategory.FIR: "ARS (FIR)",
    FunderCategory.LOCAL_REGION: "Collectivité : région",
    FunderCategory.LOCAL_DEPARTEMENT: "Collectivité : département",
    FunderCategory.LOCAL_COMMUNE: "Collectivité : commune",
    FunderCategory.LOCAL_INTERCOMMUNALITY: "Collectivité : intercommunalité",
    FunderCategory.STATE: "État (autres crédits)",
    FunderCategory.EUROPEAN_FUNDS: "Fonds européens",
    FunderCategory.PRIVATE_COMPANY: "Entreprise privée",
    FunderCategory.PHARMA: "Laboratoire pharmaceutique ou industrie de santé",
    FunderCategory.FOUNDATION: "Fondation",
    FunderCategory.OWN_RESOURCES: "Ressources propres (cotisations)",
}

LOCAL_AUTHORITIES = frozenset(
    {
        FunderCategory.LOCAL_REGION,
        FunderCategory.LOCAL_DEPARTEMENT,
        FunderCategory.LOCAL_COMMUNE,
        FunderCategory.LOCAL_INTERCOMMUNALITY,
    }
)

# Private money must always be named (Senate proposals P11 and P12).
MUST_BE_NAMED = frozenset({FunderCategory.PRIVATE_COMPANY, FunderCategory.PHARMA, FunderCategory.FOUNDATION})
