"""Do the stores hold the same data? Each store's read-back against the workload it was sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.stores.base import StatusTotal
from sandbox.workload.model import CENT, COMPARED_FIELDS, OrderRecord

EXAMPLES = 5


@dataclass(frozen=True)
class FieldDiff:
    order_id: str
    field: str
    expected: str
    got: str


@dataclass(frozen=True)
class AggregateCheck:
    status: str
    expected_count: int
    count: int
    expected_revenue: Decimal
    revenue: Decimal

    @property
    def kind(self) -> str:
        """ok | drift (off by less than half a cent: float rounding, reported not hidden) | mismatch"""
        if self.count != self.expected_count:
            return "mismatch"
        if self.revenue == self.expected_revenue:
            return "ok"
        return "drift" if self.revenue.quantize(CENT) == self.expected_revenue else "mismatch"


@dataclass
class Comparison:
    store: str
    held: int = 0
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    differing: list[FieldDiff] = field(default_factory=list)
    differing_orders: int = 0
    fields_compared: set[str] = field(default_factory=set)
    aggregates: list[AggregateCheck] = field(default_factory=list)
    error: str | None = None

    @property
    def consistent(self) -> bool:
        return (self.error is None and not self.missing and not self.extra and not self.duplicates
                and not self.differing_orders and all(a.kind != "mismatch" for a in self.aggregates))

    @property
    def drift(self) -> Decimal:
        return sum((a.revenue - a.expected_revenue for a in self.aggregates if a.kind == "drift"), Decimal(0))

    def to_json(self) -> dict[str, Any]:
        return {
            "consistent": self.consistent, "held": self.held, "error": self.error,
            "missing": len(self.missing), "missing_examples": sorted(self.missing)[:EXAMPLES],
            "extra": len(self.extra), "extra_examples": sorted(self.extra)[:EXAMPLES],
            "duplicates": len(self.duplicates),
            "differing": self.differing_orders,
            "differing_examples": [vars(d) for d in self.differing[:EXAMPLES]],
            "fields_compared": sorted(self.fields_compared),
            "aggregates": [{"status": a.status, "kind": a.kind, "expected_count": a.expected_count,
                            "count": a.count, "expected_revenue": str(a.expected_revenue),
                            "revenue": str(a.revenue)} for a in self.aggregates],
            "revenue_drift": str(self.drift),
        }


def expected_totals(records: Iterable[OrderRecord]) -> dict[str, StatusTotal]:
    counts: dict[str, int] = {}
    revenue: dict[str, Decimal] = {}
    for r in records:
        assert r.status is not None and r.total is not None
        counts[r.status] = counts.get(r.status, 0) + 1
        revenue[r.status] = revenue.get(r.status, Decimal("0.00")) + r.total
    return {s: StatusTotal(counts[s], revenue[s]) for s in counts}


async def compare_store(store: str, expected: dict[str, OrderRecord], found: AsyncIterator[OrderRecord],
                        expected_aggs: dict[str, StatusTotal], aggs: dict[str, StatusTotal]) -> Comparison:
    result = Comparison(store)
    seen: set[str] = set()
    async for record in found:
        if record.order_id in seen:
            result.duplicates.append(record.order_id)
            continue
        seen.add(record.order_id)
        want = expected.get(record.order_id)
        if want is None:
            result.extra.append(record.order_id)
            continue
        diffs = diff_record(want, record)
        result.fields_compared.update(f for f in COMPARED_FIELDS if getattr(record, f) is not None)
        if diffs:
            result.differing_orders += 1
            if len(result.differing) < 50:
                result.differing.extend(diffs)
    result.held = len(seen)
    result.missing = [order_id for order_id in expected if order_id not in seen]
    for status in sorted(set(expected_aggs) | set(aggs)):
        want_t = expected_aggs.get(status, StatusTotal(0, Decimal("0.00")))
        got_t = aggs.get(status, StatusTotal(0, Decimal("0.00")))
        result.aggregates.append(AggregateCheck(status, want_t.count, got_t.count, want_t.revenue, got_t.revenue))
    return result


def diff_record(want: OrderRecord, got: OrderRecord) -> list[FieldDiff]:
    """Fields the store keeps (not None) that differ from what was written. Money compares exactly."""
    out = []
    for name in COMPARED_FIELDS:
        value = getattr(got, name)
        if value is not None and value != getattr(want, name):
            out.append(FieldDiff(want.order_id, name, str(getattr(want, name)), str(value)))
    return out
