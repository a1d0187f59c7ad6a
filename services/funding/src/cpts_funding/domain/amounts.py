"""Exact arithmetic on euros: every result is quantized to the cent once, half to even, and
a split always adds up to what was split (no cent is invented or lost)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from cpts_kit.money import CENT

ZERO = Decimal("0.00")


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def scaled(amount: Decimal, numerator: Decimal | int, denominator: Decimal | int = 1) -> Decimal:
    """``amount × numerator / denominator`` rounded once to the cent."""
    return cents(Decimal(amount) * Decimal(numerator) / Decimal(denominator))


def split_share(amount: Decimal, share: Decimal) -> tuple[Decimal, Decimal]:
    """``amount`` cut in (share, rest): the two add up to ``amount`` exactly."""
    first = scaled(amount, share)
    return first, amount - first


def split_by_weights(total: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """``total`` spread over ``weights`` proportionally, in cents, by the largest-remainder
    method (ties go to the earlier weight): the parts add up to ``total`` exactly."""
    if not weights:
        return []
    weight_sum = sum(weights, Decimal(0))
    if weight_sum <= 0 or any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative and not all zero")
    total_cents = int((total / CENT).to_integral_value())
    exact = [Decimal(total_cents) * w / weight_sum for w in weights]
    floors = [int(x.to_integral_value(rounding=ROUND_FLOOR)) for x in exact]
    missing = total_cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for index in order[:missing]:
        floors[index] += 1
    return [Decimal(c) * CENT for c in floors]


@dataclass(frozen=True)
class KeyAmount:
    key: str
    amount: Decimal


def by_key(pairs: Iterable[tuple[str, Decimal]]) -> list[KeyAmount]:
    """Amounts added up by key, zeros left out, largest first."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for key, amount in pairs:
        totals[key] += amount
    items = [(k, v) for k, v in totals.items() if v != 0]
    return [KeyAmount(k, v) for k, v in sorted(items, key=lambda kv: (-kv[1], kv[0]))]
