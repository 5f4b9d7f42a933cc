"""Pure classification logic of the comparison (the store-backed side is in test_adapters.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from decimal import Decimal

from sandbox.measure.consistency import AggregateCheck, compare_store, diff_record, expected_totals
from sandbox.stores.base import StatusTotal
from sandbox.workload.model import OrderRecord


def rec(order_id: str, status: str = "pending", total: str = "10.00", **kw) -> OrderRecord:
    return OrderRecord(order_id, status, Decimal(total), kw.get("item_count", 1), kw.get("customer_id", "c"),
                       kw.get("segment", "standard"), kw.get("order_number", f"N-{order_id}"))


async def stream(records: Iterable[OrderRecord]) -> AsyncIterator[OrderRecord]:
    for r in records:
        yield r


def test_money_is_compared_exactly_but_representation_does_not_matter() -> None:
    assert diff_record(rec("a", total="10.10"), rec("a", total="10.1")) == []
    assert [d.field for d in diff_record(rec("a", total="10.10"), rec("a", total="10.11"))] == ["total"]


def test_fields_a_store_does_not_keep_are_not_compared() -> None:
    assert diff_record(rec("a"), OrderRecord("a", "pending", Decimal("10"), 1)) == []


def test_aggregate_drift_below_half_a_cent_is_drift_not_mismatch() -> None:
    exact = Decimal("123.45")
    assert AggregateCheck("paid", 3, 3, exact, exact).kind == "ok"
    assert AggregateCheck("paid", 3, 3, exact, Decimal("123.45000000000002")).kind == "drift"
    assert AggregateCheck("paid", 3, 3, exact, Decimal("123.46")).kind == "mismatch"
    assert AggregateCheck("paid", 3, 2, exact, exact).kind == "mismatch"


async def test_missing_extra_duplicate_and_differing_are_all_found() -> None:
    sent = {r.order_id: r for r in (rec("a"), rec("b"), rec("c", status="shipped"))}
    got = [rec("a"), rec("a"), rec("c", status="pending"), rec("z")]
    totals = expected_totals(sent.values())
    result = await compare_store("s", sent, stream(got), totals, totals)
    assert result.missing == ["b"]
    assert result.extra == ["z"]
    assert result.duplicates == ["a"]
    assert result.differing_orders == 1 and result.differing[0].field == "status"
    assert not result.consistent


async def test_identical_data_is_consistent() -> None:
    sent = {r.order_id: r for r in (rec("a"), rec("b", status="shipped", total="5.55"))}
    totals = expected_totals(sent.values())
    assert totals == {"pending": StatusTotal(1, Decimal("10.00")), "shipped": StatusTotal(1, Decimal("5.55"))}
    result = await compare_store("s", sent, stream(sent.values()), totals, totals)
    assert result.consistent and result.held == 2
