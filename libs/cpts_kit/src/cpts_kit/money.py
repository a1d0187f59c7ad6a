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


def to_money(value: Any) -> Decimal:
    """Parse an amount given as a decimal string (``"12.5"``, ``"-3.10"``) or an integer.

    Floats are refused: they cannot carry cents exactly. More than two decimals is refused
    rather than rounded, so that no cent is ever invented or lost silently."""
    if isinstance(value, bool | float):
        raise ValueError("amounts are decimal strings such as 1234.50, never floating-point numbers")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a decimal amount") from exc
    else:
        raise ValueError("an amount is a decimal string such as 1234.50")
    if not amount.is_finite():
        raise ValueError("an amount must be finite")
    if amount != amount.quantize(CENT):
        raise ValueError("an amount has at most two decimals (cents)")
    if abs(amount) > MAX_AMOUNT:
        raise ValueError(f"an amount is at most {MAX_AMOUNT} in absolute value")
    return amount.quantize(CENT)


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
