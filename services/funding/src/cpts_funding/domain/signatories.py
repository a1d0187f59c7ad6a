"""Assurance maladie money only for ACI signatories (Senate proposal P1), as a rule with the
exceptions the texts make (reference/aci_cpts.md §2, §5):

- the rule: an ACI allocation or payment goes to a CPTS whose registry status is ``aci_signed``
  on the flow's date;
- the lettre d'intention lump sum (avenant 2): paid by the Assurance maladie as soon as the
  CPTS's lettre d'intention is validated, before the contract: allowed while the CPTS is at
  ``intention_letter_signed`` or ``health_project_validated``, on the functioning credits, up to
  the lump sum of its tier in the parameter version in force on the flow's date;
- a balance owed for a period under contract: after a suspension or a dissolution, the money of
  a fiscal year during which the CPTS was under the ACI is still due;
- recoveries and reversals are always allowed (they take money back or correct a record).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from cpts_funding.domain.eligibility import ACI_SIGNED, StatusPeriod, aci_days, status_at
from cpts_funding.domain.flows import ACI_GATED_KINDS, FlowKind
from cpts_kit.missions import Mission

RULE = "aci_signatories_only"
PRE_CONTRACT = frozenset({"intention_letter_signed", "health_project_validated"})


class AciBasis(StrEnum):
    """Why an ACI flow goes to a CPTS that is not ``aci_signed`` on its date (an exception)."""

    INTENTION_LETTER_LUMP_SUM = "intention_letter_lump_sum"
    BALANCE_UNDER_CONTRACT = "balance_under_contract"


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    status_on_date: str | None


def aci_flow_refusal(
    *,
    kind: FlowKind,
    mission: Mission,
    amount: Decimal,
    fiscal_year: int,
    on: date,
    basis: AciBasis | None,
    history: Sequence[StatusPeriod],
    lump_sum: Decimal | None,
    signed_on: date | None = None,
) -> Refusal | None:
    """None when the ACI flow is allowed; otherwise why not."""
    if kind not in ACI_GATED_KINDS:
        return None  # recoveries (and the reversal of any flow) take money back
    status = status_at(history, on)
    if basis is None:
        if status == ACI_SIGNED:
            return None
        return Refusal(RULE, f"status {status or 'none'} on {on.isoformat()}, not aci_signed", status)
    if basis is AciBasis.INTENTION_LETTER_LUMP_SUM:
        if status not in PRE_CONTRACT:
            return Refusal(
                "lump_sum_before_contract_only",
                f"the lettre d'intention lump sum is paid before the contract (status {status or 'none'})",
                status,
            )
        if mission is not Mission.FUNCTIONING:
            return Refusal("lump_sum_is_functioning", "the lettre d'intention lump sum is functioning money", status)
        if lump_sum is None:
            return Refusal(
                "no_lump_sum_in_force",
                "no parameter version in force on that date has a lettre d'intention lump sum",
                status,
            )
        if amount > lump_sum:
            return Refusal("above_lump_sum", f"above the lump sum of the CPTS's tier ({lump_sum:.2f})", status)
        return None
    # A balance owed for a period under contract (after a suspension or a dissolution).
    if aci_days(history, fiscal_year, signed_on=signed_on) == 0:
        return Refusal(
            "no_period_under_contract",
            f"the CPTS was never aci_signed in its contract year {fiscal_year}: no balance is owed",
            status,
        )
    return None
