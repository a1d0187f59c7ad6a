"""The fixed list of professions used for members and governance.

``health`` says whether the profession is a health profession in the sense of the code de la
santé publique (fourth part: medical professions, pharmacy, auxiliaires médicaux); the Senate
report flags CPTS whose decision bodies hold members of other professions.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Profession(StrEnum):
    MEDECIN_GENERALISTE = "medecin_generaliste"
    GYNECOLOGUE = "gynecologue"
    AUTRE_MEDECIN_SPECIALISTE = "autre_medecin_specialiste"
    CHIRURGIEN_DENTISTE = "chirurgien_dentiste"
    SAGE_FEMME = "sage_femme"
    PHARMACIEN = "pharmacien"
    INFIRMIER = "infirmier"
    MASSEUR_KINESITHERAPEUTE = "masseur_kinesitherapeute"
    ORTHOPHONISTE = "orthophoniste"
    ORTHOPTISTE = "orthoptiste"
    PEDICURE_PODOLOGUE = "pedicure_podologue"
    DIETETICIEN = "dieteticien"
    ERGOTHERAPEUTE = "ergotherapeute"
    PSYCHOMOTRICIEN = "psychomotricien"
    AUTRE_PROFESSION_DE_SANTE = "autre_profession_de_sante"
    PSYCHOLOGUE = "psychologue"
    TRAVAILLEUR_SOCIAL = "travailleur_social"
    ELU_LOCAL = "elu_local"
    PERSONNEL_ADMINISTRATIF = "personnel_administratif"
    AUTRE_NON_SANTE = "autre_non_sante"


@dataclass(frozen=True)
class ProfessionInfo:
    label_fr: str
    health: bool


PROFESSIONS: dict[Profession, ProfessionInfo] = {
    Profession.MEDECIN_GENERALISTE: ProfessionInfo("Médecin généraliste", True),
    Profession.GYNECOLOGUE: ProfessionInfo("Gynécologue", True),
    Profession.AUTRE_MEDECIN_SPECIALISTE: ProfessionInfo("Autre médecin spécialiste", True),
    Profession.CHIRURGIEN_DENTISTE: ProfessionInfo("Chirurgien-dentiste", True),
    Profession.SAGE_FEMME: ProfessionInfo("Sage-femme", True),
    Profession.PHARMACIEN: ProfessionInfo("Pharmacien", True),
    Profession.INFIRMIER: ProfessionInfo("Infirmier", True),
    Profession.MASSEUR_KINESITHERAPEUTE: ProfessionInfo("Masseur-kinésithérapeute", True),
    Profession.ORTHOPHONISTE: ProfessionInfo("Orthophoniste", True),
    Profession.ORTHOPTISTE: ProfessionInfo("Orthoptiste", True),
    Profession.PEDICURE_PODOLOGUE: ProfessionInfo("Pédicure-podologue", True),
    Profession.DIETETICIEN: ProfessionInfo("Diététicien", True),
    Profession.ERGOTHERAPEUTE: ProfessionInfo("Ergothérapeute", True),
    Profession.PSYCHOMOTRICIEN: ProfessionInfo("Psychomotricien", True),
    Profession.AUTRE_PROFESSION_DE_SANTE: ProfessionInfo("Autre profession de santé (CSP)", True),
    # Psychologists are regulated, but not a health profession of the code de la santé publique.
    Profession.PSYCHOLOGUE: ProfessionInfo("Psychologue", False),
    Profession.TRAVAILLEUR_SOCIAL: ProfessionInfo("Travailleur social", False),
    Profession.ELU_LOCAL: ProfessionInfo("Élu local", False),
    Profession.PERSONNEL_ADMINISTRATIF: ProfessionInfo("Personnel administratif", False),
    Profession.AUTRE_NON_SANTE: ProfessionInfo("Autre profession (hors santé)", False),
}


def is_health_profession(profession: Profession) -> bool:
    return PROFESSIONS[profession].health


class BoardRole(StrEnum):
    PRESIDENT = "president"
    VICE_PRESIDENT = "vice_president"
    TREASURER = "treasurer"
    SECRETARY = "secretary"
    MEMBER = "member"
