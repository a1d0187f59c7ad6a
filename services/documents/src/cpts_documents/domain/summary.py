"""The accounting summary of a FEC in the associations' chart of accounts (ANC 2018-06 and its
2025 revision).

Fed line by line by the FEC validator (it is a :class:`~cpts_documents.domain.fec.LineSink`),
it keeps only sums per category, the current entry's sums, and at most ``max_flags`` flagged
lines (the largest), so its memory does not grow with the file:

- revenue (class 7, credit - debit) by category and by group (public funding, Assurance
  maladie, private funding, own resources), expenses (class 6, debit - credit) by category,
  ``result`` = revenue - expenses, all computed **before closing entries**: an entry that moves
  class 6/7 balances into 12x (120/129), or a class 6/7 entry of a closing journal, would zero
  them; the validator says which entries close (``end_entry``), their class 6/7 lines are set
  apart (``closing_entries``) and the FEC gets a warning;
- closing balances of classes 1 to 5 by category (opening balances included), signed on the
  category's natural side; from them the reserves and dedicated funds, cash, and how many
  months of expenses they represent (hoarding), over the period's real length;
- fixed-asset purchases: debits of class 2 (not 28/29) outside the opening entries, with real
  estate (211-214, 231, and SCI/SCPI shares on 26/27) apart;
- flagged entries (see :mod:`cpts_documents.domain.flags`): the counts and amounts by reason
  are complete; the list keeps the ``max_flags`` largest entries, largest first.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from operator import itemgetter, sub
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from cpts_documents.domain.chart import Chart, ChartRule, chart_for, default_chart
from cpts_documents.domain.flags import BoardMatcher, FlagContext, FlagRules, default_rules
from cpts_documents.domain.text import Words, fold

if TYPE_CHECKING:
    from cpts_documents.domain.fec_columns import EntryLines

CENT = Decimal("0.01")
_LABEL_CACHE = 20_000
# Looks per (account, labels): more than the folded labels, so that a usual file's combinations
# (thousands of labels on a few dozen accounts) stay cached instead of being cleared over and over;
# still bounded (about 15 MB when full of distinct labels: the bench's 23,000 combinations fit).
_LOOK_CACHE = 30_000


def _dec(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def _sums_by(groups: Any, values: Any) -> dict[int, int]:
    """The sum of ``values`` by ``groups`` (two Arrow integer arrays): sorted by group, running
    sums read at each group's end (cheaper than a hash group-by on a block's few groups)."""
    if not len(groups):
        return {}
    order = pc.sort_indices(groups)
    runs = pc.run_end_encode(pc.take(groups, order))
    ends = pc.take(pc.cumulative_sum(pc.take(values, order)), pc.subtract(runs.run_ends, 1)).to_pylist()
    return dict(zip(runs.values.to_pylist(), map(sub, ends, [0, *ends[:-1]]), strict=True))


def period_months(start: date, end: date) -> Decimal:
    """The length of a fiscal period in months: whole months when it runs from a 1st to a month's
    end (12 for a calendar year, 18 for a long first year), else days / (365.25 / 12)."""
    after = date.fromordinal(end.toordinal() + 1)
    if start.day == 1 and after.day == 1:
        return Decimal((after.year - start.year) * 12 + after.month - start.month)
    days = (end - start).days + 1
    return (Decimal(days) * 12 / Decimal("365.25")).quantize(Decimal("0.01"))


@dataclass(slots=True, eq=False)
class _Look:
    """What the labels of a line say: its chart rule, its flag reasons and words; ``order``:
    the rule's row (-1: none); ``special``: a line to look at alone (a fixed asset, a flag)."""

    rule: ChartRule | None
    reasons: tuple[str, ...]
    keywords: tuple[str, ...]
    professions: tuple[str, ...]
    real_estate: bool
    order: int = -1
    special: bool = False


class _Run:
    """The class 6/7 sums and flags of the entry being read, kept apart until its end says
    whether it is a closing entry."""

    __slots__ = ("expenses", "flags", "groups", "revenue", "used")

    def __init__(self) -> None:
        self.revenue: dict[str, int] = {}
        self.groups: dict[str, int] = {}
        self.expenses: dict[str, int] = {}
        self.flags: list[tuple[int, int, str, str, str, tuple[str, ...], tuple[str, ...]]] = []
        self.used = False

    def clear(self) -> None:
        if self.used:
            self.revenue.clear()
            self.groups.clear()
            self.expenses.clear()
            self.flags.clear()
            self.used = False


class AccountsSummariser:
    def __init__(
        self,
        context: FlagContext | None = None,
        *,
        chart: Chart | None = None,
        rules: FlagRules | None = None,
        max_flags: int = 500,
        months: Decimal = Decimal(12),
    ) -> None:
        self.chart = chart or default_chart()
        self.rules = rules or default_rules()
        self.board = BoardMatcher(context or FlagContext(), self.rules)
        self.max_flags = max_flags
        self.months = months
        self.revenue: dict[str, int] = defaultdict(int)
        self.revenue_groups: dict[str, int] = defaultdict(int)
        self.expenses: dict[str, int] = defaultdict(int)
        self.balances: dict[str, int] = defaultdict(int)  # debit - credit
        self.sides: dict[str, str] = {}
        self.purchases: dict[str, int] = defaultdict(int)
        self.real_estate_purchases = 0
        self.in_kind: dict[str, int] = defaultdict(int)
        self._heap: list[tuple[int, int, dict[str, Any]]] = []
        self._seq = 0
        self.flagged_count = 0
        self.flag_reasons: dict[str, int] = defaultdict(int)
        self.flag_amounts: dict[str, int] = defaultdict(int)
        self.closing_entries = 0
        self.closing_first_line: int | None = None
        self.closing_revenue = 0
        self.closing_expenses = 0
        self._looks: dict[tuple[str, str, str, str], _Look] = {}
        self._by_joined: dict[str, _Look] = {}  # the same for ``add_lines``, by the joined texts
        self._by_labels: dict[str, bool] = {}  # account -> its category may depend on the labels
        self._plain_orders: dict[str, int] = {}  # account -> the row of its plain rule (-1: none)
        self._folded: dict[str, str] = {}
        self._candidates = self.chart.known  # the chart's bounded cache, read without a call
        self._run = _Run()

    # -- lines -------------------------------------------------------------------------------

    def add(
        self,
        line: int,
        account: str,
        account_label: str,
        aux_label: str,
        label: str,
        debit: int,
        credit: int,
        opening: bool,
    ) -> None:
        klass = account[0]
        plain, keyworded = self._candidates.get(account) or self.chart.candidates(account)
        look: _Look | None = None
        if keyworded or klass in "267":
            look = self._looks.get((account, account_label, aux_label, label))
            if look is None:
                look = self._look(account, account_label, aux_label, label, klass)
            rule = look.rule
        else:
            rule = plain
        if rule is None:  # not reached with the shipped chart: every class has a row
            return
        run = self._run
        if klass == "7":
            amount = credit - debit
            run.used = True
            run.revenue[rule.category] = run.revenue.get(rule.category, 0) + amount
            run.groups[rule.group] = run.groups.get(rule.group, 0) + amount
        elif klass == "6":
            amount = debit - credit
            run.used = True
            run.expenses[rule.category] = run.expenses.get(rule.category, 0) + amount
        elif klass == "8":
            amount = debit - credit if rule.side == "debit" else credit - debit
            self.in_kind[rule.category] += amount
        else:
            amount = debit - credit
            self.balances[rule.category] += amount
            self.sides.setdefault(rule.category, rule.side)
            if klass == "2" and account[:2] not in ("28", "29") and not opening and debit > 0:
                self.purchases[rule.category] += debit
                if rule.group == "real_estate" or (look is not None and look.real_estate):
                    self.real_estate_purchases += debit
        if look is not None and klass != "8" and amount > 0 and not (klass == "2" and opening):
            reasons = look.reasons
            keywords = look.keywords
            if look.professions and amount >= self.board.threshold_cents:
                reasons = (*reasons, "large_payment_board_profession")
                keywords = (*keywords, *look.professions)
            if reasons:
                flag = (line, amount, account, account_label, label, reasons, keywords)
                if klass in "67":
                    run.flags.append(flag)  # kept until the entry proves not to be a closing entry
                else:
                    self._flag(*flag)

    def add_lines(self, first_line: int, lines: EntryLines) -> None:
        """Whole entries at once, none of them a closing entry: the same sums and flags as
        ``add`` and ``end_entry`` line by line, with vectorised steps over the columns (Arrow)
        and Python only for the distinct accounts and the distinct (account, labels) of the
        lines whose category may depend on their labels."""
        accounts = lines.accounts
        by_labels, plain_orders = self._by_labels, self._plain_orders
        if len(by_labels) > _LABEL_CACHE:  # bounded whatever the number of accounts
            by_labels.clear()
            plain_orders.clear()
        distinct = pc.unique(accounts)
        for account in set(distinct.to_pylist()).difference(by_labels):
            plain, keyworded = self.chart.candidates(account)
            by_labels[account] = bool(keyworded) or account[0] in "267"
            plain_orders[account] = plain.order if plain is not None else -1
        names = distinct.to_pylist()
        which = pc.index_in(accounts, value_set=distinct)
        orders = pc.take(pa.array([plain_orders[a] for a in names], pa.int64()), which)
        looked_at = pc.take(pa.array([by_labels[a] for a in names], pa.bool_()), which)
        if pc.any(looked_at).as_py():
            positions = pc.indices_nonzero(looked_at)
            texts = (accounts, lines.account_labels, lines.aux_labels, lines.labels)
            keys = pc.binary_join_element_wise(*(pc.take(column, positions) for column in texts), lines.sep)
            keys = keys.dictionary_encode()
            looks = self._joined_looks(keys.dictionary.to_pylist(), lines.sep)
            key_orders = pa.array([look.order for look in looks], pa.int64())
            orders = pc.replace_with_mask(orders, looked_at, pc.take(key_orders, keys.indices))
            if any(look.special for look in looks):
                special = pc.take(pa.array([look.special for look in looks], pa.bool_()), keys.indices)
                special_looks = [looks[k] for k in pc.filter(keys.indices, special).to_pylist()]
                self._special_lines(first_line, lines, pc.filter(positions, special), special_looks)
        rules = self.chart.rules
        for order, net in _sums_by(orders, pc.subtract(lines.debits, lines.credits)).items():
            if order < 0:
                continue  # no rule: not reached with the shipped chart
            rule = rules[order]
            klass = rule.prefix[0]
            if klass == "7":
                self.revenue[rule.category] -= net
                self.revenue_groups[rule.group] -= net
            elif klass == "6":
                self.expenses[rule.category] += net
            elif klass == "8":
                self.in_kind[rule.category] += net if rule.side == "debit" else -net
            else:
                self.balances[rule.category] += net
                self.sides.setdefault(rule.category, rule.side)

    def _joined_looks(self, keys: list[str], sep: str) -> list[_Look]:
        """The looks of a block's distinct (account, labels), given joined by ``sep`` (which
        none holds), from a cache of their own: most are known from the blocks before."""
        known = self._by_joined
        if len(known) >= _LOOK_CACHE:  # bounded whatever the number of labels
            known.clear()
        looks = list(map(known.get, keys))
        for k, look in enumerate(looks):
            if look is None:
                account, account_label, aux_label, label = keys[k].split(sep)
                looks[k] = known[keys[k]] = self._new_look(account, account_label, aux_label, label, account[0])
        return looks  # type: ignore[return-value]

    def _special_lines(self, first_line: int, lines: EntryLines, at: Any, looks: list[_Look]) -> None:
        """The fixed-asset purchases and flags of ``add_lines`` (``at``: the lines, ``looks``:
        theirs), in the order ``add`` and ``end_entry`` would give them (class 6/7 flags when
        their entry ends)."""
        positions = at.to_pylist()
        accounts, account_labels, labels, debits, credits = (
            pc.take(column, at).to_pylist()
            for column in (lines.accounts, lines.account_labels, lines.labels, lines.debits, lines.credits)
        )
        starts = lines.starts
        ends = [*starts[1:], len(lines.accounts)]
        flags = []
        for j, (i, look) in enumerate(zip(positions, looks, strict=True)):
            rule = look.rule
            if rule is None:
                continue
            account, debit, credit = accounts[j], debits[j], credits[j]
            entry = bisect_right(starts, i) - 1
            opening = lines.openings[entry]
            klass = account[0]
            if klass == "2" and account[:2] not in ("28", "29") and not opening and debit > 0:
                self.purchases[rule.category] += debit
                if rule.group == "real_estate" or look.real_estate:
                    self.real_estate_purchases += debit
            amount = credit - debit if klass == "7" else debit - credit
            if klass == "8" or amount <= 0 or (klass == "2" and opening):
                continue
            reasons, keywords = look.reasons, look.keywords
            if look.professions and amount >= self.board.threshold_cents:
                reasons = (*reasons, "large_payment_board_profession")
                keywords = (*keywords, *look.professions)
            if reasons:
                flag = (first_line + i, amount, account, account_labels[j], labels[j], reasons, keywords)
                order = (ends[entry] - 1, 1) if klass in "67" else (i, 0)
                flags.append((order, i, flag))
        for _, _, flag in sorted(flags, key=itemgetter(0, 1)):
            self._flag(*flag)

    def end_entry(self, line: int, closing: bool) -> None:
        """The entry whose lines were just added ends (as far as a run of contiguous lines
        goes): count its class 6/7 lines in the income statement, or apart if it is a closing
        entry (``line``: its first line)."""
        run = self._run
        if not run.used:
            return
        if closing:
            self.closing_entries += 1
            if self.closing_first_line is None:
                self.closing_first_line = line
            self.closing_revenue += sum(run.revenue.values())
            self.closing_expenses += sum(run.expenses.values())
        else:
            revenue, groups, expenses = self.revenue, self.revenue_groups, self.expenses
            for category, cents in run.revenue.items():
                revenue[category] += cents
            for group, cents in run.groups.items():
                groups[group] += cents
            for category, cents in run.expenses.items():
                expenses[category] += cents
            for flag in run.flags:
                self._flag(*flag)
        run.clear()

    def _look(self, account: str, account_label: str, aux_label: str, label: str, klass: str) -> _Look:
        key = (account, account_label, aux_label, label)
        look = self._looks.get(key)
        if look is None:
            look = self._new_look(account, account_label, aux_label, label, klass)
            if len(self._looks) >= _LOOK_CACHE:  # bounded whatever the number of labels
                self._looks.clear()
            self._looks[key] = look
        return look

    def _new_look(self, account: str, account_label: str, aux_label: str, label: str, klass: str) -> _Look:
        entry_words = f"{self._fold(aux_label)} {self._fold(label)}".strip()
        prepared = Words(entry_words)
        rule = self.chart.classify(account, f"{self._fold(account_label)} {entry_words}".strip())
        reasons: list[str] = []
        keywords: list[str] = []
        professions: tuple[str, ...] = ()
        by_account = self.rules.account_reason(account)
        if by_account is not None:
            reasons.append(by_account)
        for reason, hits in self.rules.keyword_reasons(account, prepared):
            if reason not in reasons:
                reasons.append(reason)
            keywords += hits
        if klass == "6":
            if hits := self.board.members(entry_words):
                reasons.append("board_member_payment")
                keywords += hits
            if self.board.professions:
                professions = tuple(self.board.professions.found_in(prepared))
        return _Look(
            rule,
            tuple(reasons),
            tuple(sorted(set(keywords))),
            professions,
            klass == "2" and "real_estate" in reasons,
            rule.order if rule is not None else -1,
            klass == "2" or bool(reasons) or bool(professions),
        )

    def _fold(self, text: str) -> str:
        folded = self._folded.get(text)
        if folded is None:
            folded = fold(text)
            if len(self._folded) >= _LABEL_CACHE:  # bounded whatever the number of labels
                self._folded.clear()
            self._folded[text] = folded
        return folded

    def _flag(
        self,
        line: int,
        amount: int,
        account: str,
        account_label: str,
        label: str,
        reasons: tuple[str, ...],
        keywords: tuple[str, ...],
    ) -> None:
        self.flagged_count += 1
        for reason in reasons:
            self.flag_reasons[reason] += 1
            self.flag_amounts[reason] += amount
        if len(self._heap) >= self.max_flags and self._heap and amount <= self._heap[0][0]:
            return
        entry = {
            "line": line,
            "account": account,
            "label": (label or account_label)[:200],
            "amount": _dec(amount),
            "reason": reasons[0],
            "reasons": list(reasons),
            "keywords": sorted(set(keywords)),
        }
        self._seq += 1
        item = (amount, -self._seq, entry)  # equal amounts: the earlier line stays
        if len(self._heap) < self.max_flags:
            heapq.heappush(self._heap, item)
        elif self.max_flags:
            heapq.heapreplace(self._heap, item)

    # -- the summary -------------------------------------------------------------------------

    def result(self) -> dict[str, Any]:
        self.end_entry(0, closing=False)
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
        monthly = Decimal(expense_total) / self.months if expense_total > 0 and self.months > 0 else None
        available = reserves + retained + dedicated + result

        def months(cents: int) -> str | None:
            return str((Decimal(cents) / monthly).quantize(Decimal("0.1"))) if monthly else None

        uses, contributions = self.in_kind_totals()
        flags = [entry for _, _, entry in sorted(self._heap, key=lambda item: (-item[0], -item[1]))]
        return {
            "chart": self.chart.name,
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
            "period_months": str(self.months),
            "fixed_asset_purchases": {
                "total": _dec(sum(self.purchases.values())),
                "real_estate": _dec(self.real_estate_purchases),
                "by_category": {k: _dec(v) for k, v in sorted(self.purchases.items())},
            },
            "in_kind": {k: _dec(v) for k, v in sorted(self.in_kind.items())},
            "in_kind_balanced": uses == contributions,
            "closing_entries": {
                "count": self.closing_entries,
                "first_line": self.closing_first_line,
                "revenue_set_apart": _dec(self.closing_revenue),
                "expenses_set_apart": _dec(self.closing_expenses),
            },
            "flagged_entries": flags,
            "flagged_count": self.flagged_count,
            "flagged_listed": len(flags),
            "flags_by_reason": dict(sorted(self.flag_reasons.items())),
            "flag_amounts_by_reason": {k: _dec(v) for k, v in sorted(self.flag_amounts.items())},
        }

    def in_kind_totals(self) -> tuple[int, int]:
        """Σ 86 (uses) and Σ 87 (contributions) of the in-kind contributions."""
        uses = sum(v for k, v in self.in_kind.items() if k == "in_kind_uses")
        contributions = sum(v for k, v in self.in_kind.items() if k == "in_kind_contributions")
        return uses, contributions


def summariser_for(
    start: date, end: date, context: FlagContext | None = None, *, max_flags: int = 500
) -> AccountsSummariser:
    """The summariser of a fiscal period: the chart in force and the period's length."""
    return AccountsSummariser(context, chart=chart_for(start), max_flags=max_flags, months=period_months(start, end))
