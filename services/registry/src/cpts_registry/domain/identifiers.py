"""SIRET and FINESS checks (INSEE and ATIH rules); the SIREN and Luhn key come from the kit."""

from __future__ import annotations

import re

from cpts_kit.identifiers import luhn_valid, siren_problem, with_luhn_key

__all__ = ["finess_problem", "luhn_valid", "siren_problem", "siret_problem", "with_luhn_key"]

_FINESS = re.compile(r"^(\d{2}|2A|2B)\d{7}$")


def siret_problem(value: str, siren: str) -> str | None:
    if not (len(value) == 14 and value.isdigit()):
        return "a SIRET has exactly 14 digits"
    if not value.startswith(siren):
        return "a SIRET starts with the SIREN of its legal unit"
    if not luhn_valid(value):
        return "the SIRET's check digit (Luhn) is wrong"
    return None


def finess_problem(value: str) -> str | None:
    if not _FINESS.match(value):
        return "a FINESS number has 9 characters: the département (2 characters) then 7 digits"
    return None
