"""Money: ``Decimal`` with cents, never a float. JSON carries it as a string with two
decimals (``"121000000.00"``); the database as ``Numeric(14, 2)``."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema
from sqlalchemy import BigInteger, ColumnElement, Numeric, cast, func

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # what Numeric(14, 2) holds

# The column type for amounts in every service's database.
MoneyColumn = Numeric(14, 2, asdecimal=True)


def parse_decimal(value: Any, *, places: int, what: str, example: str) -> Decimal:
    """A decimal given as a string (``"12.5"``) or an integer, with at most ``places`` decimals.

    Floats are refused: they cannot carry decimals exactly. Extra decimals are refused rather
    than rounded, so that nothing is ever invented or lost silently."""
    if isinstance(value, bool | float):
        raise ValueError(f"{what}s are decimal strings such as {example}, never floating-point numbers")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a decimal {what}") from exc
    else:
        raise ValueError(f"{what}s are decimal strings such as {example}")
    if not number.is_finite():
        raise ValueError(f"{what}s must be finite")
    quantum = Decimal(1).scaleb(-places)
    if number != number.quantize(quantum):
        raise ValueError(f"{what}s have at most {places} decimals")
    return number.quantize(quantum)


def to_money(value: Any) -> Decimal:
    """Parse an amount: a decimal string (``"12.5"``, ``"-3.10"``) or an integer, in cents."""
    amount = parse_decimal(value, places=2, what="amount", example="1234.50")
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(f"an amount is at most {MAX_AMOUNT} in absolute value")
    return amount


def format_money(amount: Decimal) -> str:
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_EVEN):.2f}"


Money = Annotated[
    Decimal,
    BeforeValidator(to_money),
    PlainSerializer(format_money, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d{1,12}\.\d{2}$", "examples": ["121000000.00"]}),
]


# Sums in SQL that stay exact on both backends: PostgreSQL adds NUMERIC exactly, but SQLite
# keeps Numeric values as binary floats. Each amount becomes integer cents first
# (exact for every value Numeric(14, 2) holds), the integers are added, and the result comes
# back as a Decimal with two decimals.


def as_cents(amount: Any) -> ColumnElement[int]:
    return cast(func.round(amount * 100), BigInteger)


def sum_cents(cents_expression: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(cents_expression), 0)


def from_cents(value: Any) -> Decimal:
    return (Decimal(int(value or 0)) * CENT).quantize(CENT)
