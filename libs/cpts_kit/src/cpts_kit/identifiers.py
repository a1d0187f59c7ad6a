"""Identifiers of French legal units: the Luhn key of SIREN (and SIRET) numbers."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


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


def with_luhn_key(stem: str) -> str:
    """Complete ``stem`` with the digit that makes it Luhn-valid (demo data, tests)."""
    for key in "0123456789":
        if luhn_valid(stem + key):
            return stem + key
    raise AssertionError("unreachable: one key digit always fits")


def _valid_siren(value: str) -> str:
    if problem := siren_problem(value):
        raise ValueError(problem)
    return value


# A SIREN field of a request body: 422 with the reason when the digits or the key are wrong.
Siren = Annotated[str, AfterValidator(_valid_siren)]
