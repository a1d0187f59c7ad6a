"""Rules and their versioned parameters: thresholds are data with an effective date, never
constants in the rule's code, because the texts (ACI, avenants, national frames) change."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from cpts_audit.domain.facts import CptsFacts
from cpts_audit.domain.findings import Candidate

Parameters = Mapping[str, Any]


@dataclass(frozen=True)
class ParameterVersion:
    version: str
    effective_from: date
    values: Parameters
    note: str = ""


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    rationale: str  # the Senate proposal or finding it serves
    parameters: tuple[ParameterVersion, ...]
    evaluate: Callable[[CptsFacts, Callable[[int], ParameterVersion]], list[Candidate]]

    def parameters_for(self, fiscal_year: int) -> ParameterVersion:
        """The version in force on the last day of the fiscal year."""
        end = date(fiscal_year, 12, 31)
        current = [p for p in self.parameters if p.effective_from <= end]
        if not current:
            return min(self.parameters, key=lambda p: p.effective_from)
        return max(current, key=lambda p: p.effective_from)

    def run(self, facts: CptsFacts) -> list[Candidate]:
        return self.evaluate(facts, self.parameters_for)


def money(value: str) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def tolerance(params: Parameters, reference: Decimal) -> Decimal:
    """The larger of an absolute tolerance and a share of the reference amount."""
    absolute = Decimal(str(params.get("tolerance_amount", "0")))
    share = Decimal(str(params.get("tolerance_share", "0")))
    return max(absolute, (abs(reference) * share).quantize(Decimal("0.01")))
