"""How each order's saga ended, from what the services' own stores hold after the run (docs/events.md).

Legal ends: confirmed (stock reserved, payment ok); compensated (payment failed, the order cancelled and its
stock released); rejected (stock short: the order cancelled, nothing taken); dead-lettered (its first event could
not be handled: nothing done anywhere). Anything else is illegal (a confirmed order whose payment should fail,
a cancelled order still holding stock, stock released for a confirmed order) and a finding; an order still
pending when the run stopped did not finish (a finding too: every saga must end). Stock is conserved: each
product's stock left equals its initial stock less what the orders still holding a reservation took.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

EXAMPLES = 3
LEGAL_ENDS = ("confirmed", "compensated", "rejected", "dead-lettered")


@dataclass
class SagaCheck:
    ends: Counter[str] = field(default_factory=Counter)  # legal ends, "unfinished" and "illegal"
    examples: dict[str, list[str]] = field(default_factory=dict)
    stock_mismatches: list[str] = field(default_factory=list)

    def note(self, end: str, text: str) -> None:
        self.ends[end] += 1
        if end not in LEGAL_ENDS:
            shown = self.examples.setdefault(end, [])
            if len(shown) < EXAMPLES:
                shown.append(text)

    @property
    def findings(self) -> list[str]:
        out = [f"saga {end}: {self.ends[end]} order(s), e.g. {'; '.join(self.examples.get(end, []))}"
               for end in ("illegal", "unfinished") if self.ends[end]]
        if self.stock_mismatches:
            out.append(f"stock not conserved: {'; '.join(self.stock_mismatches[:EXAMPLES])}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"ends": dict(self.ends), "examples": self.examples, "stock_mismatches": self.stock_mismatches}


def end_of(status: str | None, reservation: str | None, fails: bool, dead: bool, settled: bool = True) -> str:
    """settled: the run's events all came through; if not, a cancelled order whose payment failed and that still
    holds its stock is half-way through its compensation (the release still to come): unfinished, not illegal."""
    if dead and status == "pending" and reservation is None:
        return "dead-lettered"
    if status == "pending" or status is None:
        return "unfinished"
    if not settled and status == "cancelled" and reservation == "reserved" and fails:
        return "unfinished"
    if status == "confirmed" and reservation == "reserved" and not fails:
        return "confirmed"
    if status == "cancelled" and reservation == "released" and fails:
        return "compensated"
    if status == "cancelled" and reservation == "rejected":
        return "rejected"
    return "illegal"


def check_sagas(orders: Mapping[str, int], lines: Mapping[str, Sequence[tuple[str, int]]],
                states: Mapping[str, str], reservations: Mapping[str, str], fails: Callable[[int], bool],
                dead_keys: Collection[str], initial_stock: Mapping[str, int], stock: Mapping[str, int],
                settled: bool = True) -> SagaCheck:
    """orders: key -> the order's index; lines: key -> (product, quantity); states: key -> order status;
    reservations: key -> reserved | released | rejected; fails: whether an index's payment fails."""
    check = SagaCheck()
    held: Counter[str] = Counter()
    for key, index in orders.items():
        status, reservation = states.get(key), reservations.get(key)
        end = end_of(status, reservation, fails(index), key in dead_keys, settled)
        check.note(end, f"{key[:8]}: status {status}, stock {reservation or 'untouched'}, payment "
                        f"{'fails' if fails(index) else 'ok'}")
        if reservation == "reserved":
            for product, qty in lines.get(key, ()):
                held[product] += qty
    for product, initial in initial_stock.items():
        if stock.get(product, 0) != initial - held[product]:
            check.stock_mismatches.append(f"{product[:8]}: {stock.get(product, 0)} left, expected "
                                          f"{initial - held[product]} ({initial} less {held[product]} reserved)")
    return check
