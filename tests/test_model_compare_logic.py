"""The generic comparison's logic (sandbox/measure/model_compare.py) on records made from generated data.

Pure logic: the records come from a list in memory, shaped as a store returns them; the same comparison
runs against the real servers in tests/test_model_contract.py and the run's compare step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.measure.model_compare import Expected, compare_store
from sandbox.stores.contract import AggregateRow, Kept, NotAnswerable, Params
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import load

MODEL = load(Path(__file__).parent.parent / "models" / "orders.toml")
KEPT = Kept(("id", "status", "total_amount", "subtotal", "tax_amount", "shipping_amount", "customer_id"),
            {"items": ("product_id", "quantity")})


class Records:
    """Records in memory, shaped like a store's scan; answers the checked aggregate from them."""

    def __init__(self, records: list[dict[str, Any]], revenue: bool = True):
        self.records, self.revenue = records, revenue

    async def scan(self, entity: str) -> AsyncIterator[dict[str, Any]]:
        for r in self.records:
            yield r

    def answer(self, pattern: Any) -> Any:
        if not self.revenue:
            return NotAnswerable("no aggregation here")

        async def rows(params: Params) -> list[AggregateRow]:
            groups: dict[str, list] = {}
            for r in self.records:
                g = groups.setdefault(r["status"], [0, Decimal(0)])
                g[0] += 1
                g[1] += r["total_amount"]
            return [AggregateRow((s,), c, (t,)) for s, (c, t) in groups.items()]
        return rows


def kept_view(inst: dict[str, Any]) -> dict[str, Any]:
    out = {f: inst[f] for f in KEPT.fields}
    out["items"] = [{f: i[f] for f in KEPT.children["items"]} for i in inst["items"]]
    return out


def setup(n: int = 300, prefixes: tuple[int, ...] = ()) -> tuple[Expected, list[dict[str, Any]]]:
    ds = Dataset(MODEL, 4, Sizes(n))
    expected = Expected(ds, n, {"s": KEPT}, MODEL.checked_aggregates(), prefixes)
    return expected, [kept_view(i) for i in ds.roots()]


async def test_a_store_holding_exactly_what_was_sent_is_consistent() -> None:
    expected, records = setup()
    result = await compare_store("s", Records(records[::-1]), expected, "s")
    assert result.consistent and result.held == 300 and result.aggregates["revenue_by_status"]
    assert set(result.aggregates["revenue_by_status"]) == {"ok"}


async def test_each_kind_of_difference_is_counted_with_examples() -> None:
    expected, records = setup()
    records[10] = {**records[10], "status": "refunded" if records[10]["status"] != "refunded" else "pending"}
    records[11] = {**records[11], "items": records[11]["items"][:-1] or [{"product_id": "x", "quantity": 1}]}
    gone = records.pop(20)
    records.append(dict(records[30]))  # a duplicate
    records.append({**records[0], "id": "not-sent"})
    result = await compare_store("s", Records(records), expected, "s")
    assert (result.differing, result.missing, result.duplicates, result.extra) == (2, 1, 1, 1)
    assert result.missing_examples == [gone["id"]] and result.extra_examples == ["not-sent"]
    assert {d.field for d in result.differing_examples} >= {"status"}
    assert not result.consistent
    assert any(v != "ok" for v in result.aggregates["revenue_by_status"])  # the store's own sums moved too


async def test_a_prefix_of_the_stream_is_compared_against_that_prefix() -> None:
    expected, records = setup(prefixes=(120,))
    result = await compare_store("s", Records(records[:120]), expected, "s", written=120)
    assert result.held == 120 and result.missing == 0 and result.extra == 0
    assert result.consistent  # its aggregates are expected over the 120 it was sent
    beyond = await compare_store("s", Records(records[:121]), expected, "s", written=120)
    assert beyond.extra == 1 and not beyond.consistent


async def test_a_store_that_cannot_aggregate_says_so_and_is_not_a_finding() -> None:
    expected, records = setup(50)
    result = await compare_store("s", Records(records, revenue=False), expected, "s")
    assert result.consistent and result.not_answerable == {"revenue_by_status": "no aggregation here"}


def test_the_expected_side_keeps_a_fixed_number_of_bytes_per_instance() -> None:
    expected, _ = setup(1000)
    per_instance = (expected.hashes.nbytes + expected.indexes.nbytes + sum(d.nbytes for d in
                                                                           expected.digests.values())) / 1000
    assert per_instance == 24  # key hash, index, one digest per design: 8 bytes each
