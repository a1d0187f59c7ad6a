"""The missions vocabulary shared by every service's events (funding envelopes, documents'
spending statements, indicators' catalogue, audit's reports): one definition, so that a
mission named by one service means the same thing to the others."""

from __future__ import annotations

from enum import StrEnum


class Mission(StrEnum):
    ACCESS_TO_CARE = "access_to_care"  # médecin traitant and unscheduled care (SNP)
    CARE_PATHWAYS = "care_pathways"  # parcours pluriprofessionnels
    PREVENTION = "prevention"
    CRISIS_RESPONSE = "crisis_response"  # crises sanitaires graves (avenant 2)
    QUALITY_RELEVANCE = "quality_relevance"  # qualité et pertinence des soins
    PROFESSIONAL_SUPPORT = "professional_support"  # accompagnement des professionnels
    FUNCTIONING = "functioning"  # fonctionnement
    OUTSIDE_MISSIONS = "outside_missions"  # hors missions


# The six conventional missions of the ACI (the others are not missions of the contract).
CONVENTIONAL: tuple[Mission, ...] = (
    Mission.ACCESS_TO_CARE,
    Mission.CARE_PATHWAYS,
    Mission.PREVENTION,
    Mission.CRISIS_RESPONSE,
    Mission.QUALITY_RELEVANCE,
    Mission.PROFESSIONAL_SUPPORT,
)

LABELS_FR: dict[Mission, str] = {
    Mission.ACCESS_TO_CARE: "Accès aux soins (médecin traitant, soins non programmés)",
    Mission.CARE_PATHWAYS: "Parcours pluriprofessionnels",
    Mission.PREVENTION: "Prévention",
    Mission.CRISIS_RESPONSE: "Réponse aux crises sanitaires graves",
    Mission.QUALITY_RELEVANCE: "Qualité et pertinence des soins",
    Mission.PROFESSIONAL_SUPPORT: "Accompagnement des professionnels de santé",
    Mission.FUNCTIONING: "Fonctionnement",
    Mission.OUTSIDE_MISSIONS: "Hors missions",
}
