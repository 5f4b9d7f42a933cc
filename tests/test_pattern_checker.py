"""The update history and the pattern checker: legal final states by version, decrements against the floor,
increments; then on the real servers, a mix's writes checked, and a change made behind a store's back found."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.config import Settings
from sandbox.measure.history import OpHistory, OrderUpdates, ReadThenUpdate, StatusUpdate, StockTake
from sandbox.measure.load import LoadPlan
from sandbox.measure.pattern_checker import (
    FinalState,
    FloorVerdict,
    PatternCheck,
    StateVerdict,
    check_store,
    classify_counter,
    classify_floor,
    classify_insert,
    classify_state,
    legal_states,
)
from sandbox.measure.pattern_driver import run_pattern_mix
from sandbox.measure.timing import OpEvent, TimedStore, write_all
from sandbox.stores import make_model_store
from sandbox.stores.contract import Params
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import load

MODELS = Path(__file__).parent.parent / "models"


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


def test_history_records_each_transition_with_its_outcome(tmp_path: Path) -> None:
    h = history(tmp_path,
                event("pay", StatusUpdate("o1", "confirmed", 2), "ok", True),
                event("ship", StatusUpdate("o1", "shipped", 3), "info"),
                event("cancel", StatusUpdate("o1", "cancelled", 4), "fail"),
                event("update_status", StatusUpdate("o1", "processing", 5), "ok", False))
    h.updates.note_preloaded("o1", "pending")
    entry = h.updates.of("pg")["o1"]
    assert entry.asked == {1: "pending", 2: "confirmed", 3: "shipped", 4: "cancelled", 5: "processing"}
    assert (entry.applied, entry.unknown, entry.failed, entry.refused) == (2, {3}, {4}, {5})
    lines = [json.loads(line) for line in h.path.read_text().splitlines()]
    assert lines[1]["value"] == {"order_id": "o1", "status": "confirmed", "version": 2}
    assert lines[2] == {**lines[2], "type": "ok", "value": True}


def test_a_read_modify_write_is_noted_with_what_it_set_once_it_had_read(tmp_path: Path) -> None:
    done = ReadThenUpdate("o1", StatusUpdate("o1", "shipped", 4))
    h = history(tmp_path, event("rmw_status", done, "ok", True),
                event("rmw_status", ReadThenUpdate("o1"), "ok", None))  # read nothing: changed nothing
    entry = h.updates.of("pg")["o1"]
    assert (entry.asked, entry.applied, entry.refused) == ({4: "shipped"}, 4, set())
    lines = [json.loads(line) for line in h.path.read_text().splitlines()]
    assert lines[1]["value"] == {"key": "o1", "update": {"order_id": "o1", "status": "shipped", "version": 4}}


def test_an_inserted_instance_is_version_one_of_its_own_history(tmp_path: Path) -> None:
    h = history(tmp_path, event("write", StatusUpdate("o2", "pending", 1), "info"),
                event("pay", StatusUpdate("o2", "confirmed", 2), "info"))
    entry = h.updates.of("pg")["o2"]
    assert entry.applied == 0 and legal_states(entry) == {(1, "pending"), (2, "confirmed")}
    assert classify_state(entry, None) == StateVerdict.ABSENT_UNKNOWN
    assert h.outcomes.of("pg")["o2"].name == "TIMED_OUT"  # still an insert for the write checker


def updates_of(tmp_path: Path, *events: OpEvent) -> OrderUpdates:
    h = history(tmp_path, *events)
    h.updates.note_preloaded("o1", "pending")
    return h.updates.of("pg")["o1"]


def test_legal_states_are_the_last_acknowledged_or_a_later_unknown(tmp_path: Path) -> None:
    entry = updates_of(tmp_path,
                       event("t", StatusUpdate("o1", "confirmed", 2), "ok", True),
                       event("t", StatusUpdate("o1", "processing", 3), "info"),
                       event("t", StatusUpdate("o1", "shipped", 4), "ok", True),
                       event("t", StatusUpdate("o1", "delivered", 5), "info"))
    assert legal_states(entry) == {(4, "shipped"), (5, "delivered")}  # v3 is below the acknowledged v4
    assert classify_state(entry, FinalState("shipped", 4)) == StateVerdict.OK
    assert classify_state(entry, FinalState("delivered", 5)) == StateVerdict.OK_UNKNOWN


def test_a_regressed_final_state_is_a_lost_update(tmp_path: Path) -> None:
    entry = updates_of(tmp_path,
                       event("t", StatusUpdate("o1", "confirmed", 2), "ok", True),
                       event("t", StatusUpdate("o1", "processing", 3), "ok", True))
    assert classify_state(entry, FinalState("confirmed", 2)) == StateVerdict.LOST_UPDATE
    # without versions the state alone still gives the regression away
    assert classify_state(entry, FinalState("confirmed")) == StateVerdict.LOST_UPDATE
    assert classify_state(entry, FinalState("processing")) == StateVerdict.OK


def test_impossible_failed_and_missing_states(tmp_path: Path) -> None:
    entry = updates_of(tmp_path,
                       event("t", StatusUpdate("o1", "confirmed", 2), "ok", True),
                       event("t", StatusUpdate("o1", "processing", 3), "fail"))
    assert classify_state(entry, FinalState("processing", 3)) == StateVerdict.FAILED_BUT_APPLIED
    assert classify_state(entry, FinalState("refunded", 2)) == StateVerdict.IMPOSSIBLE  # v2 was "confirmed"
    assert classify_state(entry, FinalState("confirmed", 9)) == StateVerdict.IMPOSSIBLE  # never asked
    assert classify_state(entry, None) == StateVerdict.MISSING
    assert classify_state(entry, FinalState("confirmed", 2)) == StateVerdict.OK


def test_decrements_lie_between_acknowledged_and_acknowledged_plus_unknown(tmp_path: Path) -> None:
    h = history(tmp_path,
                event("take", StockTake("o1", (("p1", 3), ("p2", 1))), "ok", True),
                event("take", StockTake("o2", (("p1", 2),)), "info"),
                event("take", StockTake("o3", (("p1", 50),)), "ok", False),  # refused: not enough
                event("take", StockTake("o4", (("p2", 4),)), "fail"))
    takes = h.updates.stock["pg"]
    assert (takes.acknowledged, takes.unknown, takes.refused, takes.failed) == ({"p1": 3, "p2": 1}, {"p1": 2}, 1, 1)
    # p1 starts at 10: 7 (the unknown one did not land) and 5 (it did) are legal
    verdicts = {left: classify_floor(10, 3, 2, left) for left in (7, 5, 8, 4, -1, None)}
    assert verdicts == {7: FloorVerdict.OK, 5: FloorVerdict.OK, 8: FloorVerdict.LOST_DECREMENT,
                        4: FloorVerdict.OVERSOLD, -1: FloorVerdict.NEGATIVE, None: FloorVerdict.MISSING}


def test_an_acknowledged_insert_must_be_there_and_a_failed_one_must_not() -> None:
    assert [classify_insert(o, present).value for o, present in
            (("ok", True), ("ok", False), ("fail", True), ("fail", False), ("info", False), ("info", True))] == \
        ["ok", "lost_insert", "failed_but_present", "absent_failed", "absent_unknown", "ok"]


def test_increments_must_count_every_acknowledged_one() -> None:
    assert [classify_counter(0, 5, 2, n).value for n in (5, 7, 4, 8, None)] == \
        ["ok", "ok", "lost_increment", "extra_increment", "missing"]


# -- on the real servers -----------------------------------------------------------------------------------
@pytest.fixture
async def opened(live: Settings) -> AsyncIterator:
    stores: list = []

    async def factory(kind: str, model: Any) -> Any:
        store = make_model_store(live, kind, f"sbx_test_{secrets.token_hex(4)}", model)
        await store.connect()
        stores.append(store)
        return store

    yield factory
    for store in stores:
        try:
            await store.teardown()
        finally:
            await store.close()


async def mixed(store: Any, model_name: str, mix: str, tmp_path: Path, loaded: int = 40, operations: int = 300,
                reference: dict | None = None) -> tuple[Dataset, OpHistory, PatternCheck]:
    """Load a small data set, run the model's mix with its history, check what it changed."""
    model = load(MODELS / f"{model_name}.toml")
    ds = Dataset(model, 7, Sizes(loaded, reference))
    await store.prepare(ds)
    await write_all(store, list(ds.roots()))
    h = OpHistory(tmp_path / f"{store.name}.jsonl")
    ts = TimedStore(store, listeners=[h.listener])
    outcome = await run_pattern_mix(ts, store, ds, model.mixes[mix], loaded, 7, LoadPlan(8).validated(), operations,
                                    h.updates)
    h.close()
    assert outcome.operations > 0 and all(s.failed == 0 for s in ts.stats.values()), ts.stats
    sent = [model.patterns[p] for p, _ in model.mixes[mix].weights if p not in outcome.not_answerable]
    return ds, h, await check_store(store.name, store, ds, h.updates, sent, loaded + outcome.inserted)


@pytest.mark.parametrize("kind", ["postgres", "redis"])
async def test_seats_taken_in_a_rush_never_overbook_and_a_seat_given_behind_the_stores_back_is_found(
        kind: str, opened, tmp_path: Path) -> None:
    store = await opened(kind, load(MODELS / "bookings.toml"))
    ds, h, check = await mixed(store, "bookings", "rush", tmp_path, reference={"slot": 30})
    assert check.decrements.total > 0 and check.decrements.counts == {"ok": check.decrements.total}, check.to_json()
    assert not check.has_findings
    assert check.refused == h.updates.stock[kind].refused > 0  # slots ran out: later seats refused, not oversold
    # now one slot gets a seat back that nobody gave back: the checker sees a lost decrement on that slot only
    slot = sorted(h.updates.stock[kind].acknowledged)[0]
    if kind == "postgres":
        await store.pool.execute(f'UPDATE "{store.namespace}".slots SET remaining = remaining + 1 WHERE id = $1', slot)
    else:
        await store.client.hincrby(f"{store.namespace}:slot:{slot}", "remaining", 1)
    again = await check_store(kind, store, ds, h.updates, [ds.model.patterns["reserve"]], 40 + 10_000)
    assert again.decrements.counts.get("lost_decrement") == 1 and again.has_findings, again.to_json()
    assert again.decrements.examples["lost_decrement"][0].startswith(f"{slot}: found ")


@pytest.mark.parametrize("kind", ["postgres", "mongo", "elastic"])
async def test_read_modify_writes_on_hot_keys_lose_nothing_and_a_planted_state_is_found(
        kind: str, opened, tmp_path: Path) -> None:
    store = await opened(kind, load(MODELS / "orders.toml"))
    ds, h, check = await mixed(store, "orders", "ycsb-f", tmp_path, loaded=10,
                               reference={"customer": 20, "product": 20})
    entries = h.updates.of(kind)
    assert check.states.total == len(entries) > 0 and not check.has_findings, check.to_json()
    assert max(e.applied for e in entries.values()) > 3  # hot keys moved on several times, one version at a time
    key, entry = max(entries.items(), key=lambda kv: kv[1].applied)
    # a state no client asked for at that version, planted through the store's own transition: found
    older = Params(key=key, state=entry.asked[1], version=entry.applied + 1)
    assert await store.answer(ds.model.patterns["update_status"])(older) is True
    again = await check_store(kind, store, ds, h.updates, [ds.model.patterns["rmw_status"]], 10)
    assert again.states.counts.get("impossible") == 1, again.to_json()



async def test_ingested_readings_are_all_there_and_one_removed_behind_the_stores_back_is_found(
        opened, tmp_path: Path) -> None:
    store = await opened("redis", load(MODELS / "telemetry.toml"))
    ds, h, check = await mixed(store, "telemetry", "ingest", tmp_path, reference={"device": 20})
    inserted = h.updates.inserts["redis"]
    assert check.inserts.counts == {"ok": len(inserted)} and len(inserted) > 200, check.to_json()
    gone = sorted(inserted)[0]
    await store.client.delete(f"{store.namespace}:reading:{gone}")
    again = await check_store("redis", store, ds, h.updates, [ds.model.patterns["insert_reading"]])
    assert again.inserts.counts == {"ok": len(inserted) - 1, "lost_insert": 1}, again.to_json()
    assert again.has_findings
