"""Sums of money in SQL that stay exact on both backends.

PostgreSQL adds ``NUMERIC`` exactly, but SQLite keeps ``Numeric`` values as binary floats and
would add them as floats. Each amount is therefore turned into integer cents first
(``CAST(ROUND(amount * 100) AS BIGINT)``, exact for every value ``Numeric(14, 2)`` holds) and
the integers are added; the result comes back as a ``Decimal`` with two decimals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, cast, func

from cpts_funding.domain.amounts import CENT


def as_cents(amount: Any) -> ColumnElement[int]:
    return cast(func.round(amount * 100), BigInteger)


def sum_cents(cents_expression: Any) -> ColumnElement[Any]:
    return func.coalesce(func.sum(cents_expression), 0)


def from_cents(value: Any) -> Decimal:
    return (Decimal(int(value or 0)) * CENT).quantize(CENT)
