"""The accounting summary of a FEC in the associations' chart of accounts (ANC 2018-06).

Fed line by line by the FEC validator (it is a :class:`~cpts_documents.domain.fec.LineSink`),
it keeps only sums per category and at most ``max_flags`` flagged lines:

- revenue (class 7, credit - debit) by category and by group (public funding, Assurance
  maladie, private funding, own resources), expenses (class 6, debit - credit) by category,
  ``result`` = revenue - expenses (a FEC holds no closing entries);
- closing balances of classes 1 to 5 by category (opening balances included), signed on the
  category's natural side; from them the reserves and dedicated funds, cash, and how many
  months of expenses they represent (hoarding);
- fixed-asset purchases: debits of class 2 (not 28/29) outside the opening entries, with real
  estate (211-214, 231) apart;
- flagged entries (see :mod:`cpts_documents.domain.flags`).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from cpts_documents.domain.chart import Chart, default_chart
from cpts_documents.domain.flags import BoardMatcher, FlagContext, FlagRules, default_rules
from cpts_documents.domain.text import fold

CENT = Decimal("0.01")


def _dec(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


class AccountsSummariser:
    def __init__(
        self,
        context: FlagContext | None = None,
        *,
        chart: Chart | None = None,
        rules: FlagRules | None = None,
        max_flags: int = 500,
    ) -> None:
        self.chart = chart or default_chart()
        self.rules = rules or default_rules()
        self.board = BoardMatcher(context or FlagContext(), self.rules)
        self.max_flags = max_flags
        self.revenue: dict[str, int] = defaultdict(int)
        self.revenue_groups: dict[str, int] = defaultdict(int)
        self.expenses: dict[str, int] = defaultdict(int)
        self.balances: dict[str, int] = defaultdict(int)  # debit - credit
        self.sides: dict[str, str] = {}
        self.purchases: dict[str, int] = defaultdict(int)
        self.real_estate_purchases = 0
        self.in_kind: dict[str, int] = defaultdict(int)
        self.flags: list[dict[str, Any]] = []
        self.flagged_count = 0
        self.flag_reasons: dict[str, int] = defaultdict(int)

    def add(
        self,
        line: int,
        journal: str,
        account: str,
        account_label: str,
        aux_label: str,
        label: str,
        debit: int,
        credit: int,
        opening: bool,
    ) -> None:
        klass = account[0]
        chart = self.chart
        looks = klass in "267" or chart.needs_labels(account)
        folded = fold(f"{account_label} {aux_label} {label}") if looks else ""
        rule = chart.classify(account, folded)
        if rule is None:  # not reached with the shipped chart: every class has a row
            return
        if klass == "7":
            amount = credit - debit
            self.revenue[rule.category] += amount
            self.revenue_groups[rule.group] += amount
        elif klass == "6":
            amount = debit - credit
            self.expenses[rule.category] += amount
        elif klass == "8":
            amount = debit - credit if rule.side == "debit" else credit - debit
            self.in_kind[rule.category] += amount
        else:
            amount = debit - credit
            self.balances[rule.category] += amount
            self.sides.setdefault(rule.category, rule.side)
            if klass == "2" and account[:2] not in ("28", "29") and not opening and debit > 0:
                self.purchases[rule.category] += debit
                if rule.group == "real_estate":
                    self.real_estate_purchases += debit
        if looks and klass != "8" and amount > 0 and not (klass == "2" and opening):
            self._flag(line, account, account_label, label, amount, klass, folded)

    def _flag(
        self, line: int, account: str, account_label: str, label: str, amount: int, klass: str, text: str
    ) -> None:
        reasons: list[str] = []
        keywords: list[str] = []
        by_account = self.rules.account_reason(account)
        if by_account is not None:
            reasons.append(by_account)
        if klass in "67":
            for rule in self.rules.keyword_rules:
                if klass in rule.classes and (hits := rule.keywords.found(text)):
                    if rule.reason not in reasons:
                        reasons.append(rule.reason)
                    keywords += hits
        if klass == "6":
            if self.board.surnames and (hits := self.board.surnames.found(text)):
                reasons.append("board_member_payment")
                keywords += hits
            if amount >= self.board.threshold_cents and self.board.professions:
                hits = self.board.professions.found(text)
                if hits:
                    reasons.append("large_payment_board_profession")
                    keywords += hits
        if not reasons:
            return
        self.flagged_count += 1
        for reason in reasons:
            self.flag_reasons[reason] += 1
        if len(self.flags) < self.max_flags:
            self.flags.append(
                {
                    "line": line,
                    "account": account,
                    "label": (label or account_label)[:200],
                    "amount": _dec(amount),
                    "reason": reasons[0],
                    "reasons": reasons,
                    "keywords": sorted(set(keywords)),
                }
            )

    def result(self) -> dict[str, Any]:
        revenue_total = sum(self.revenue.values())
        expense_total = sum(self.expenses.values())
        result = revenue_total - expense_total
        balance = {
            category: (cents if self.sides[category] == "debit" else -cents)
            for category, cents in sorted(self.balances.items())
        }
        reserves = balance.get("reserves", 0)
        retained = balance.get("retained_earnings", 0)
        own_funds = balance.get("own_funds", 0)
        dedicated = balance.get("dedicated_funds", 0) + balance.get("funds_carried_forward", 0)
        deferred = balance.get("deferred_income", 0)
        cash = balance.get("cash", 0) + balance.get("short_term_investments", 0)
        monthly = Decimal(expense_total) / 12 if expense_total > 0 else None
        available = reserves + retained + dedicated + result

        def months(cents: int) -> str | None:
            return str((Decimal(cents) / monthly).quantize(Decimal("0.1"))) if monthly else None

        return {
            "revenue_total": _dec(revenue_total),
            "expense_total": _dec(expense_total),
            "result": _dec(result),
            "revenue_by_category": {k: _dec(v) for k, v in sorted(self.revenue.items())},
            "revenue_by_group": {k: _dec(v) for k, v in sorted(self.revenue_groups.items())},
            "expense_by_category": {k: _dec(v) for k, v in sorted(self.expenses.items())},
            "balance_sheet": {k: _dec(v) for k, v in balance.items()},
            "reserves": {
                "reserves": _dec(reserves),
                "retained_earnings": _dec(retained),
                "own_funds": _dec(own_funds),
                "dedicated_funds": _dec(dedicated),
                "deferred_income": _dec(deferred),
                "dedicated_funds_allocated": _dec(self.expenses.get("dedicated_funds_allocated", 0)),
                "dedicated_funds_used": _dec(self.revenue.get("dedicated_funds_used", 0)),
                "cash": _dec(cash),
                "available_reserves": _dec(available),
                "months_of_expenses_in_cash": months(cash),
                "months_of_expenses_in_reserves": months(available),
            },
            "fixed_asset_purchases": {
                "total": _dec(sum(self.purchases.values())),
                "real_estate": _dec(self.real_estate_purchases),
                "by_category": {k: _dec(v) for k, v in sorted(self.purchases.items())},
            },
            "in_kind": {k: _dec(v) for k, v in sorted(self.in_kind.items())},
            "flagged_entries": self.flags,
            "flagged_count": self.flagged_count,
            "flags_by_reason": dict(sorted(self.flag_reasons.items())),
        }
