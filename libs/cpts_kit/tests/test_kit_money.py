"""Money is Decimal with cents; JSON carries decimal strings; floats and sub-cent digits are refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from cpts_kit.money import Money, format_money, to_money


class Amount(BaseModel):
    value: Money


@pytest.mark.parametrize(
    ("given", "expected"),
    [("12.5", "12.50"), ("-3.10", "-3.10"), (7, "7.00"), (" 0.01 ", "0.01"), ("121000000.00", "121000000.00")],
)
def test_accepted_amounts_keep_every_cent(given: object, expected: str) -> None:
    parsed = Amount.model_validate({"value": given})
    assert parsed.value == Decimal(expected)
    assert parsed.model_dump(mode="json") == {"value": expected}
    assert parsed.model_dump_json() == f'{{"value":"{expected}"}}'


@pytest.mark.parametrize("given", [1.5, "1.234", "abc", "NaN", "Infinity", True, None, "1e15", [1]])
def test_refused_amounts(given: object) -> None:
    with pytest.raises(ValidationError):
        Amount.model_validate({"value": given})


def test_a_json_float_is_refused_but_a_string_is_not() -> None:
    with pytest.raises(ValidationError, match="never floating-point"):
        Amount.model_validate_json('{"value": 0.1}')
    total = sum((Amount.model_validate_json(f'{{"value": "{v}"}}').value for v in ("0.10", "0.20")), Decimal(0))
    assert format_money(total) == "0.30"


def test_schema_says_string_with_two_decimals() -> None:
    schema = Amount.model_json_schema()["properties"]["value"]
    assert schema["type"] == "string" and schema["pattern"] == r"^-?\d{1,12}\.\d{2}$"


def test_to_money_bounds() -> None:
    assert to_money("999999999999.99") == Decimal("999999999999.99")
    with pytest.raises(ValueError, match="at most"):
        to_money("1000000000000.00")
