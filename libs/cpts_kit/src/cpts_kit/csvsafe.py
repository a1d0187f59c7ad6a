"""CSV cells a spreadsheet will not run as formulas (OWASP "CSV injection").

Every CSV the platform writes goes through :func:`safe_row`: a text cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with a single quote, so
``=HYPERLINK(...)`` in a funder's name reaches the analyst as text. Numbers written by the
platform itself (amounts such as ``-120.00``) are left as they are: pass them as
:class:`~decimal.Decimal` or ``int``, not as text.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]
