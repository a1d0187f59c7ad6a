"""The part of the remuneration a flow belongs to, and the input type that accepts only a
conventional mission. The missions themselves are the kit's (``cpts_kit.missions``), shared by
every service's events."""

from __future__ import annotations

from enum import StrEnum


class ConventionalMission(StrEnum):
    """The six conventional missions of ``cpts_kit.missions.CONVENTIONAL``, for the inputs that
    only accept one of them."""

    ACCESS_TO_CARE = "access_to_care"
    CARE_PATHWAYS = "care_pathways"
    PREVENTION = "prevention"
    CRISIS_RESPONSE = "crisis_response"
    QUALITY_RELEVANCE = "quality_relevance"
    PROFESSIONAL_SUPPORT = "professional_support"


class Part(StrEnum):
    FIXED = "fixed"
    VARIABLE = "variable"
    NOT_APPLICABLE = "not_applicable"
