"""CSV cells never start a spreadsheet formula; the platform's own numbers stay numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cpts_kit.csvsafe import safe_row


@pytest.mark.parametrize("text", ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_text_that_would_be_a_formula_is_quoted(text: str) -> None:
    assert safe_row([text]) == ["'" + text]


def test_ordinary_text_numbers_and_missing_values() -> None:
    assert safe_row(["CPTS Sud", Decimal("-120.00"), 3, None, "a=b"]) == ["CPTS Sud", Decimal("-120.00"), 3, "", "a=b"]
