"""The update history and checker: legal final states per order, stock within the unknown decrements."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.measure.history import OpHistory, OrderUpdates, StatusUpdate, StockTake
from sandbox.measure.timing import OpEvent
from sandbox.measure.update_checker import (
    FinalState,
    OrderVerdict,
    StockVerdict,
    UpdateCheck,
    check_orders,
    check_stock,
    classify_order,
    classify_stock,
    legal_states,
)


def event(op: str, value: object, outcome: str, result: object = None, store: str = "pg") -> OpEvent:
    error = None if outcome == "ok" else ("TimeoutError: no answer" if outcome == "info" else "DataError: no")
    return OpEvent(store, op, (getattr(value, "order_id", ""),), 1, 2, outcome, error,  # type: ignore[arg-type]
                   value=value, result=result)


def history(tmp_path: Path, *events: OpEvent) -> OpHistory:
    h = OpHistory(tmp_path / "history.jsonl")
    for e in events:
        h.listener(e)
    h.close()
    return h


def test_history_records_each_update_with_its_outcome(tmp_path: Path) -> None:
    h = history(tmp_path,
                event("pay", StatusUpdate("o1", "confirmed", 2), "ok", True),
                event("ship", StatusUpdate("o1", "shipped", 3), "info"),
                event("cancel", StatusUpdate("o1", "cancelled", 4), "fail"),
                event("update", StatusUpdate("o1", "processing", 5), "ok", False))
    h.updates.note_preloaded("o1", "pending")
    entry = h.updates.of("pg")["o1"]
    assert entry.asked == {1: "pending", 2: "confirmed", 3: "shipped", 4: "cancelled", 5: "processing"}
    assert (entry.applied, entry.unknown, entry.failed, entry.refused) == (2, {3}, {4}, {5})
    lines = [json.loads(line) for line in h.path.read_text().splitlines()]
    assert lines[1]["value"] == {"order_id": "o1", "status": "confirmed", "version": 2}
    assert lines[2] == {**lines[2], "type": "ok", "value": True}


def test_a_placed_order_is_version_one_of_its_own_history(tmp_path: Path) -> None:
    h = history(tmp_path, event("write", StatusUpdate("o2", "pending", 1), "info"),
                event("pay", StatusUpdate("o2", "confirmed", 2), "info"))
    entry = h.updates.of("pg")["o2"]
    assert entry.applied == 0 and legal_states(entry) == {(1, "pending"), (2, "confirmed")}
    assert classify_order(entry, None) == OrderVerdict.ABSENT_UNKNOWN
    assert h.outcomes.of("pg")["o2"].name == "TIMED_OUT"  # still an insert for the write checker


def updates_of(tmp_path: Path, *events: OpEvent) -> OrderUpdates:
    h = history(tmp_path, *events)
    h.updates.note_preloaded("o1", "pending")
    return h.updates.of("pg")["o1"]


def test_legal_states_are_the_last_acknowledged_or_a_later_unknown(tmp_path: Path) -> None:
    entry = updates_of(tmp_path,
                       event("update", StatusUpdate("o1", "confirmed", 2), "ok", True),
                       event("update", StatusUpdate("o1", "processing", 3), "info"),
                       event("update", StatusUpdate("o1", "shipped", 4), "ok", True),
                       event("update", StatusUpdate("o1", "delivered", 5), "info"))
    assert legal_states(entry) == {(4, "shipped"), (5, "delivered")}  # v3 is below the acknowledged v4
    assert classify_order(entry, FinalState("shipped", 4)) == OrderVerdict.OK
    assert classify_order(entry, FinalState("delivered", 5)) == OrderVerdict.OK_UNKNOWN


def test_a_regressed_final_state_is_a_lost_update_finding(tmp_path: Path) -> None:
    entry = updates_of(tmp_path,
                       event("update", StatusUpdate("o1", "confirmed", 2), "ok", True),
                       event("update", StatusUpdate("o1", "processing", 3), "ok", True))
    result = UpdateCheck("pg")
    check_orders(result, {"o1": entry}, {"o1": FinalState("confirmed", 2)})
    assert result.orders.counts == {"lost_update": 1}
    assert result.has_findings
    assert result.orders.examples["lost_update"] == ["o1: found confirmed v2, legal: processing v3"]
    # without versions the status alone still gives the regression away
    assert classify_order(entry, FinalState("confirmed")) == OrderVerdict.LOST_UPDATE
    assert classify_order(entry, FinalState("processing")) == OrderVerdict.OK


def test_impossible_failed_and_missing_states_are_findings(tmp_path: Path) -> None:
    entry = updates_of(tmp_path,
                       event("update", StatusUpdate("o1", "confirmed", 2), "ok", True),
                       event("update", StatusUpdate("o1", "processing", 3), "fail"))
    assert classify_order(entry, FinalState("processing", 3)) == OrderVerdict.FAILED_BUT_APPLIED
    assert classify_order(entry, FinalState("refunded", 2)) == OrderVerdict.IMPOSSIBLE  # v2 was "confirmed"
    assert classify_order(entry, FinalState("confirmed", 9)) == OrderVerdict.IMPOSSIBLE  # never asked
    assert classify_order(entry, None) == OrderVerdict.MISSING
    result = UpdateCheck("pg")
    check_orders(result, {"o1": entry}, {"o1": FinalState("confirmed", 2)})
    assert not result.has_findings


def test_stock_must_lie_between_acknowledged_and_acknowledged_plus_unknown(tmp_path: Path) -> None:
    h = history(tmp_path,
                event("decrement", StockTake("o1", (("p1", 3), ("p2", 1))), "ok", True),
                event("decrement", StockTake("o2", (("p1", 2),)), "info"),
                event("decrement", StockTake("o3", (("p1", 50),)), "ok", False),  # refused: not enough
                event("decrement", StockTake("o4", (("p2", 4),)), "fail"))
    takes = h.updates.stock["pg"]
    assert (takes.acknowledged, takes.unknown, takes.refused, takes.failed) == ({"p1": 3, "p2": 1}, {"p1": 2}, 1, 1)
    initial = {"p1": 10, "p2": 5}
    for p1, verdict in ((7, "ok"), (5, "ok"), (8, "lost_decrement"), (4, "oversold")):
        result = UpdateCheck("pg")
        check_stock(result, takes, initial, {"p1": p1, "p2": 4})
        assert result.stock.counts == ({"ok": 2} if verdict == "ok" else {"ok": 1, verdict: 1}), p1
        assert result.has_findings == (verdict != "ok")


def test_negative_and_missing_stock_are_findings() -> None:
    assert classify_stock(2, 2, 3, -1) == StockVerdict.NEGATIVE
    assert classify_stock(2, 2, 0, None) == StockVerdict.MISSING
    assert classify_stock(10, 0, 0, 10) == StockVerdict.OK
