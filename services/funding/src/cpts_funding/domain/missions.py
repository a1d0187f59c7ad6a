"""The six conventional missions of the ACI, plus functioning and money outside the missions,
and the part of the remuneration a flow belongs to."""

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


CONVENTIONAL: tuple[Mission, ...] = (
    Mission.ACCESS_TO_CARE,
    Mission.CARE_PATHWAYS,
    Mission.PREVENTION,
    Mission.CRISIS_RESPONSE,
    Mission.QUALITY_RELEVANCE,
    Mission.PROFESSIONAL_SUPPORT,
)


class ConventionalMission(StrEnum):
    """The same six values, for the inputs that only accept a conventional mission."""

    ACCESS_TO_CARE = "access_to_care"
    CARE_PATHWAYS = "care_pathways"
    PREVENTION = "prevention"
    CRISIS_RESPONSE = "crisis_response"
    QUALITY_RELEVANCE = "quality_relevance"
    PROFESSIONAL_SUPPORT = "professional_support"


LABELS_FR = {
    Mission.ACCESS_TO_CARE: "Accès aux soins (médecin traitant, soins non programmés)",
    Mission.CARE_PATHWAYS: "Parcours pluriprofessionnels",
    Mission.PREVENTION: "Prévention",
    Mission.CRISIS_RESPONSE: "Réponse aux crises sanitaires graves",
    Mission.QUALITY_RELEVANCE: "Qualité et pertinence des soins",
    Mission.PROFESSIONAL_SUPPORT: "Accompagnement des professionnels de santé",
    Mission.FUNCTIONING: "Fonctionnement",
    Mission.OUTSIDE_MISSIONS: "Hors missions",
}


class Part(StrEnum):
    FIXED = "fixed"
    VARIABLE = "variable"
    NOT_APPLICABLE = "not_applicable"
