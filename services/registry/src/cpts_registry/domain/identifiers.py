"""SIREN, SIRET and FINESS checks (INSEE and ATIH rules)."""

from __future__ import annotations

import re

_FINESS = re.compile(r"^(\d{2}|2A|2B)\d{7}$")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def siren_problem(value: str) -> str | None:
    """Why ``value`` is not a SIREN (9 digits, Luhn key), or None."""
    if not (len(value) == 9 and value.isdigit()):
        return "a SIREN has exactly 9 digits"
    if not luhn_valid(value):
        return "the SIREN's check digit (Luhn) is wrong"
    return None


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


def with_luhn_key(stem: str) -> str:
    """Complete ``stem`` with the digit that makes it Luhn-valid (demo data, tests)."""
    for key in "0123456789":
        if luhn_valid(stem + key):
            return stem + key
    raise AssertionError("unreachable: one key digit always fits")
