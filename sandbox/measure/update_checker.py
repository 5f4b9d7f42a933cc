"""After a mixed run: is each store's final state one its clients' answers allow? (Updates and stock.)

Orders. Every update sets a status at a version and is applied only over an older version, so the
final state is the one of the highest version applied. Applied for sure: the acknowledged ones; maybe:
the ones whose outcome is unknown (timeout, broken connection). The legal final states of an order are
therefore the last acknowledged version's, or that of any unknown-outcome version above it (or, when
nothing was acknowledged, no order at all). Anything else is classified (docs/workloads.md):
an older state than the last acknowledged update is a lost update.

Stock. Per product, final = initial - acknowledged decrements - some of the unknown ones, and never
below zero. More left than that is a lost decrement (two clients read the same stock and both wrote
back their own result), less is stock taken that nobody was told about (oversold).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.measure.history import OrderUpdates, StockTakes

EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class FinalState:
    """An order as a store holds it after the run; version None where the store does not say."""

    status: str
    version: int | None = None


class OrderVerdict(StrEnum):
    OK = "ok"  # the last acknowledged update's state
    OK_UNKNOWN = "ok_unknown"  # the state of an update whose outcome was unknown: it landed
    ABSENT_UNKNOWN = "absent_unknown"  # never acknowledged, not there: allowed
    LOST_UPDATE = "lost_update"  # an older state than the last acknowledged update
    FAILED_BUT_APPLIED = "failed_but_applied"  # the state of an update the store said had failed
    IMPOSSIBLE = "impossible"  # a state no client asked for at that version
    MISSING = "missing"  # acknowledged, but the order is gone


class StockVerdict(StrEnum):
    OK = "ok"  # initial - acknowledged, less at most the unknown ones
    LOST_DECREMENT = "lost_decrement"  # more stock left than acknowledged decrements allow
    OVERSOLD = "oversold"  # less stock than even every unknown decrement explains
    NEGATIVE = "negative"  # below zero
    MISSING = "missing"  # the product's stock could not be found


ORDER_FINDINGS = (OrderVerdict.LOST_UPDATE, OrderVerdict.FAILED_BUT_APPLIED, OrderVerdict.IMPOSSIBLE,
                  OrderVerdict.MISSING)
STOCK_FINDINGS = (StockVerdict.LOST_DECREMENT, StockVerdict.OVERSOLD, StockVerdict.NEGATIVE, StockVerdict.MISSING)


def legal_states(updates: OrderUpdates) -> set[tuple[int, str]]:
    """The (version, status) pairs the order may legally hold; empty when absence is the only one."""
    base = updates.applied
    legal = {(base, updates.asked[base])} if base else set()
    return legal | {(v, updates.asked[v]) for v in updates.unknown if v > base}


def classify_order(updates: OrderUpdates, final: FinalState | None) -> OrderVerdict:
    if final is None:
        return OrderVerdict.MISSING if updates.applied else OrderVerdict.ABSENT_UNKNOWN
    legal = legal_states(updates)
    if final.version is not None:
        pair = (final.version, final.status)
        if pair in legal:
            return OrderVerdict.OK if final.version == updates.applied else OrderVerdict.OK_UNKNOWN
        if updates.asked.get(final.version) == final.status:
            if final.version < updates.applied:
                return OrderVerdict.LOST_UPDATE
            if final.version in updates.failed:
                return OrderVerdict.FAILED_BUT_APPLIED
        return OrderVerdict.IMPOSSIBLE
    # No version kept: judge by status alone (a repeated status is given the benefit of the doubt).
    if updates.applied and final.status == updates.asked[updates.applied]:
        return OrderVerdict.OK
    if final.status in {s for _, s in legal}:
        return OrderVerdict.OK_UNKNOWN
    older = {s for v, s in updates.asked.items() if v < updates.applied}
    if final.status in older:
        return OrderVerdict.LOST_UPDATE
    if final.status in {updates.asked[v] for v in updates.failed}:
        return OrderVerdict.FAILED_BUT_APPLIED
    return OrderVerdict.IMPOSSIBLE


def classify_stock(initial: int, acknowledged: int, unknown: int, final: int | None) -> StockVerdict:
    if final is None:
        return StockVerdict.MISSING
    if final < 0:
        return StockVerdict.NEGATIVE
    if final > initial - acknowledged:
        return StockVerdict.LOST_DECREMENT
    if final < initial - acknowledged - unknown:
        return StockVerdict.OVERSOLD
    return StockVerdict.OK


@dataclass
class Tally:
    """Counts per verdict and a few example ids (with what was found) for the ones that are findings."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, verdict: str, key: str, detail: str, finding: bool) -> None:
        self.counts[verdict] = self.counts.get(verdict, 0) + 1
        if finding and len(shown := self.examples.setdefault(verdict, [])) < EXAMPLES:
            shown.append(f"{key}: {detail}")


@dataclass
class UpdateCheck:
    store: str
    orders: Tally = field(default_factory=Tally)
    stock: Tally = field(default_factory=Tally)
    stock_checked: bool = False  # False: the store keeps no stock (left out of decrements)
    error: str | None = None
    skipped: str | None = None  # why nothing was checked (a store that keeps no versions)

    @property
    def findings(self) -> int:
        return (sum(self.orders.counts.get(v, 0) for v in ORDER_FINDINGS)
                + sum(self.stock.counts.get(v, 0) for v in STOCK_FINDINGS))

    @property
    def has_findings(self) -> bool:
        return self.error is not None or self.findings > 0

    def to_json(self) -> dict[str, Any]:
        return {"findings": self.findings, "error": self.error, "skipped": self.skipped, "orders": self.orders.counts,
                "order_examples": self.orders.examples,
                "stock": self.stock.counts if self.stock_checked else None, "stock_examples": self.stock.examples}


def check_orders(result: UpdateCheck, updates: Mapping[str, OrderUpdates],
                 final: Mapping[str, FinalState | None]) -> None:
    for order_id, entry in updates.items():
        state = final.get(order_id)
        verdict = classify_order(entry, state)
        found = "absent" if state is None else f"{state.status} v{state.version}"
        legal = ", ".join(f"{s} v{v}" for v, s in sorted(legal_states(entry))) or "absent"
        result.orders.add(verdict.value, order_id, f"found {found}, legal: {legal}", verdict in ORDER_FINDINGS)


def check_stock(result: UpdateCheck, takes: StockTakes, initial: Mapping[str, int],
                final: Mapping[str, int | None]) -> None:
    result.stock_checked = True
    for product_id in sorted(set(takes.acknowledged) | set(takes.unknown)):
        ack, unknown = takes.acknowledged.get(product_id, 0), takes.unknown.get(product_id, 0)
        verdict = classify_stock(initial[product_id], ack, unknown, final.get(product_id))
        low = initial[product_id] - ack - unknown
        result.stock.add(verdict.value, product_id,
                         f"found {final.get(product_id)}, legal: {max(low, 0)}..{initial[product_id] - ack}",
                         verdict in STOCK_FINDINGS)
