"""Field types of the public contract: positive amounts, rates (decimal strings, never
floats), fiscal years, SIREN (the kit's, re-exported) and identifiers."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, StringConstraints, WithJsonSchema

from cpts_kit.identifiers import Siren
from cpts_kit.money import Money, parse_decimal

__all__ = ["FiscalYear", "Identifier", "Name", "NonNegativeMoney", "PositiveMoney", "Rate", "Siren"]

RATE_QUANTUM = Decimal("0.0001")


def to_rate(value: Any) -> Decimal:
    """A share between 0 and 1 given as a decimal string (``"0.75"``) or 0/1; at most four
    decimals. Floats are refused like for amounts: ``0.1`` is not exactly one tenth."""
    rate = parse_decimal(value, places=4, what="rate", example="0.75")
    if not (Decimal(0) <= rate <= Decimal(1)):
        raise ValueError("a rate is between 0 and 1")
    return rate


def format_rate(rate: Decimal) -> str:
    return f"{rate.quantize(RATE_QUANTUM, rounding=ROUND_HALF_EVEN):.4f}"


Rate = Annotated[
    Decimal,
    BeforeValidator(to_rate),
    PlainSerializer(format_rate, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": r"^(0(\.\d{1,4})?|1(\.0{1,4})?)$", "examples": ["0.7500"]}),
]


def _positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise ValueError("the amount must be above zero (a correction is a reversal, not a negative flow)")
    return amount


def _not_negative(amount: Decimal) -> Decimal:
    if amount < 0:
        raise ValueError("the amount must be zero or more")
    return amount


PositiveMoney = Annotated[Money, AfterValidator(_positive)]
NonNegativeMoney = Annotated[Money, AfterValidator(_not_negative)]


Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
FiscalYear = Annotated[int, Field(strict=True, ge=2019, le=2100, description="Fiscal (calendar) year")]
