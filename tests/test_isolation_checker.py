"""The isolation checker on synthetic histories (no server): hand-built histories with one known anomaly
each (found, with the right class and example cycle, and nothing else), random executions of in-memory
serializable / snapshot-isolation / read-committed models, the Recorder, and Elle's EDN format."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import edn_format
import pytest

from sandbox.measure.isolation import HistoryError, Recorder, append, check, edn, read, write
from sandbox.measure.isolation.cycles import components, kind_of
from sandbox.measure.isolation.graph import RW, WW, DepGraph
from sandbox.measure.isolation.history import History, Mop, Op
from sandbox.measure.isolation.simulate import run
from sandbox.measure.isolation.workload import TxnGenerator, TxnSpec

Spec = tuple[str, list[Mop]]  # (outcome, micro-ops as completed)


def history(*txns: Spec) -> History:
    """Each transaction invoked (reads unfilled) and completed in turn by its own process: T<2n> is the nth."""
    rec = Recorder(clock=itertools.count().__next__)
    for process, (outcome, mops) in enumerate(txns):
        tid = rec.invoke(process, [(f, k, None if f == "r" else v) for f, k, v in mops])
        rec.complete(tid, outcome, mops if outcome == "ok" else None)
    return rec.history


def ok(*mops: Mop) -> Spec:
    return ("ok", list(mops))


def failed(*mops: Mop) -> Spec:
    return ("fail", list(mops))


def unknown(*mops: Mop) -> Spec:
    return ("info", list(mops))


# name -> (history, model, the exact classes it must show, the example cycle of the cycle class, if any)
CASES: dict[str, tuple[History, str, set[str], str | None]] = {
    "serial": (history(ok(append("x", 1)), ok(read("x", [1]), append("x", 2)),
                       ok(read("x", [1, 2]), read("y"), append("y", 1)), ok(read("y", [1]), read("x", [1, 2]))),
               "list-append", set(), None),
    "G0": (history(ok(append("x", 1), append("y", 2)), ok(append("x", 2), append("y", 1)),
                   ok(read("x", [1, 2]), read("y", [1, 2]))),
           "list-append", {"G0"}, "T0 -ww(x)-> T2 -ww(y)-> T0"),
    "G1a": (history(failed(append("x", 1)), ok(read("x", [1]))), "list-append", {"G1a"}, None),
    "G1b": (history(ok(append("x", 1), append("x", 2)), ok(read("x", [1]))), "list-append", {"G1b"}, None),
    "G1c": (history(ok(append("x", 1), read("y", [1])), ok(append("x", 2), append("y", 1)), ok(read("x", [1, 2]))),
            "list-append", {"G1c"}, "T0 -ww(x)-> T2 -wr(y)-> T0"),
    "G-single": (history(ok(append("x", 1), append("y", 1)), ok(read("x"), read("y", [1]))),
                 "list-append", {"G-single"}, "T0 -wr(y)-> T2 -rw(x)-> T0"),
    "G2-item": (history(ok(read("x"), read("y"), append("x", 1)), ok(read("x"), read("y"), append("y", 1)),
                        ok(read("x", [1]), read("y", [1]))),
                "list-append", {"G2-item"}, "T0 -rw(y)-> T2 -rw(x)-> T0"),
    "lost update, order seen": (history(ok(read("x"), append("x", 1)), ok(read("x"), append("x", 2)),
                                        ok(read("x", [1, 2]))),
                                "list-append", {"lost-update", "G-single"}, "T0 -ww(x)-> T2 -rw(x)-> T0"),
    "lost update, order unseen": (history(ok(read("x"), append("x", 1)), ok(read("x"), append("x", 2))),
                                  "list-append", {"lost-update", "G2-item"}, "T0 -rw(x)-> T2 -rw(x)-> T0"),
    "internal": (history(ok(append("x", 2)), ok(append("x", 1), read("x", [2]))), "list-append", {"internal"}, None),
    "future read": (history(ok(read("x", [5]), append("x", 5))), "list-append", {"internal"}, None),
    "state went backwards": (history(ok(append("x", 1)), ok(read("x", [1]), read("x"))), "list-append",
                             {"internal", "G-single"}, "T0 -wr(x)-> T2 -rw(x)-> T0"),
    # read committed's re-read, which the graph also shows as read skew
    "non-repeatable read": (history(ok(read("x"), read("x", [1])), ok(append("x", 1))), "list-append",
                            {"non-repeatable-read", "G-single"}, "T0 -rw(x)-> T2 -wr(x)-> T0"),
    "re-read after own append": (history(ok(read("x", [1]), append("x", 3), read("x", [1, 2, 3])),
                                         ok(append("x", 1)), ok(append("x", 2))),
                                 "list-append", {"non-repeatable-read", "G-single"}, "T0 -rw(x)-> T4 -ww(x)-> T0"),
    "incompatible order": (history(ok(append("x", 1)), ok(append("x", 2)), ok(read("x", [1, 2])),
                                   ok(read("x", [2, 1]))), "list-append", {"incompatible-order"}, None),
    "duplicate": (history(ok(append("x", 1)), ok(read("x", [1, 1]))), "list-append", {"duplicate"}, None),
    "garbage": (history(ok(read("x", [9]))), "list-append", {"garbage-read"}, None),
    "info seen": (history(unknown(append("x", 1)), ok(read("x", [1]))), "list-append", set(), None),
    "info in a cycle": (history(unknown(append("x", 1), append("y", 1)), ok(read("x"), read("y", [1]))),
                        "list-append", {"G-single"}, "T0 -wr(y)-> T2 -rw(x)-> T0"),
    "failed reads ignored": (history(failed(read("x", [7])), unknown(read("y", [8]))), "list-append", set(), None),
    "register serial": (history(ok(write("x", 1)), ok(read("x", 1), write("x", 2)), ok(read("x", 2))),
                        "rw-register", set(), None),
    "register G1a": (history(failed(write("x", 1)), ok(read("x", 1))), "rw-register", {"G1a"}, None),
    "register G1b": (history(ok(write("x", 1), write("x", 2)), ok(read("x", 1))), "rw-register", {"G1b"}, None),
    "register G-single": (history(ok(write("x", 1), write("y", 1)), ok(read("x"), read("y", 1))),
                          "rw-register", {"G-single"}, "T0 -wr(y)-> T2 -rw(x)-> T0"),
    "register G1c": (history(ok(write("x", 1), read("y", 1)), ok(read("x", 1), write("x", 2), write("y", 1))),
                     "rw-register", {"G1c"}, "T0 -wr(x)-> T2 -wr(y)-> T0"),
    "register write skew": (history(ok(read("x"), read("y"), write("x", 1)), ok(read("x"), read("y"), write("y", 1))),
                            "rw-register", {"G2-item"}, "T0 -rw(y)-> T2 -rw(x)-> T0"),
    "register lost update": (history(ok(read("x"), write("x", 1)), ok(read("x"), write("x", 2))),
                             "rw-register", {"lost-update", "G2-item"}, "T0 -rw(x)-> T2 -rw(x)-> T0"),
    "register internal": (history(ok(write("x", 2)), ok(write("x", 1), read("x", 2))), "rw-register",
                          {"internal"}, None),
    "register future read": (history(ok(read("x", 3), write("x", 3))), "rw-register", {"internal"}, None),
    "register non-repeatable read": (history(ok(read("x"), read("x", 1)), ok(write("x", 1))), "rw-register",
                                     {"non-repeatable-read", "G-single"}, "T0 -rw(x)-> T2 -wr(x)-> T0"),
    # Elle calls two rw edges that are not adjacent G-nonadjacent; here it is G2-item (docs/isolation.md)
    "G-nonadjacent": (history(ok(append("x", 1)), ok(read("x", [1]), read("y")), ok(append("y", 1)),
                              ok(read("y", [1]), read("x"))),
                      "list-append", {"G2-item"}, "T0 -wr(x)-> T2 -rw(y)-> T4 -wr(y)-> T6 -rw(x)-> T0"),
}


@pytest.mark.parametrize("name", CASES)
def test_each_known_anomaly_is_found_with_its_class_and_nothing_else(name: str) -> None:
    """Positive and negative controls at once: the exact set of classes, so a G-single reported as G2-item
    (or a lost update missed, or a clean history flagged) fails here."""
    h, model, expected, cycle = CASES[name]
    result = check(h, model)
    assert result.kinds == expected, result.summary()
    assert result.valid == (not expected)
    cycles = [a for kind in ("G0", "G1c", "G-single", "G2-item") for a in result.examples.get(kind, [])]
    assert [a.cycle for a in cycles] == ([cycle] if cycle else [])
    for a in cycles:
        assert a.detail and all(line.startswith("T") for line in a.detail)


def test_an_example_cycle_has_the_edges_its_class_needs() -> None:
    assert kind_of([(0, 1, WW), (1, 0, WW)]) == "G0"
    assert kind_of([(0, 1, WW), (1, 0, RW)]) == "G-single"
    assert kind_of([(0, 1, RW), (1, 2, WW), (2, 0, RW)]) == "G2-item"


def test_counts_aborts_and_unknown_outcomes() -> None:
    rec = Recorder(clock=itertools.count().__next__)
    a = rec.invoke(0, [append("x", 1)])
    rec.complete(a, "ok")
    rec.complete(rec.invoke(1, [append("x", 2)]), "fail")
    rec.complete(rec.invoke(2, [append("x", 3)]), "info")
    rec.invoke(3, [read("x")])  # never completed: unknown
    assert rec.open == 1
    result = check(rec.history)
    assert (result.txns.ok, result.txns.fail, result.txns.info, result.txns.total) == (1, 1, 2, 4)
    assert result.to_dict()["txns"] == {"ok": 1, "fail": 1, "info": 2, "total": 4}


def test_the_recorder_refuses_what_a_history_cannot_hold() -> None:
    rec = Recorder()
    tid = rec.invoke(0, [append("x", 1), read("y")])
    with pytest.raises(HistoryError, match="already has an open transaction"):
        rec.invoke(0, [read("x")])
    with pytest.raises(HistoryError, match="does not match"):
        rec.complete(tid, "ok", [append("x", 2), read("y", [1])])
    with pytest.raises(HistoryError, match="none of"):
        rec.complete(tid, "maybe")
    with pytest.raises(HistoryError, match="is not"):
        rec.invoke(1, [("delete", "x", None)])
    rec.complete(tid, "ok", [append("x", 1), read("y", [1])])
    with pytest.raises(HistoryError, match="not open"):
        rec.complete(tid, "ok")


def test_a_repeated_element_is_a_malformed_history_not_an_anomaly() -> None:
    with pytest.raises(HistoryError, match="unique"):
        check(history(ok(append("x", 1)), ok(append("x", 1))))
    with pytest.raises(HistoryError, match="register"):
        check(history(ok(append("x", 1))), "rw-register")


def test_strongly_connected_components_of_a_100k_ring_need_no_recursion() -> None:
    n = 100_000
    graph = DepGraph(nodes=n)
    for i in range(n):
        graph.add(i, (i + 1) % n, WW, "x")
    graph.add(5, 3, RW, "y")
    comps = components(graph, range(n))
    assert [len(c) for c in comps] == [n]
    assert components(graph, range(n), RW) == []


def _ring_with_noise(n: int, noise: int) -> History:
    """One G-single (a ww chain on "ring" closed by one rw edge on "anti") among many G2-item cycles hanging
    off it (after the construction in Elle's own tests, which times its G-single search out)."""
    txns: list[Spec] = []
    for i in range(n):
        txns.append(ok(append("ring", i), append("anti", 0) if i == 0 else read("anti") if i == n - 1
                       else append(i, 0)))
    txns.append(ok(read("ring", list(range(n)))))
    for i in range(1, n - 1):
        txns += [ok(append(i, j)) for j in range(1, noise - 2)]
        txns += [ok(read(i, list(range(noise - 2))), read(f"anti-{i}")), ok(append(f"anti-{i}", 0), read("ring"))]
    return history(*txns)


def test_a_single_g_single_among_thousands_of_g2_item_cycles_is_found() -> None:
    result = check(_ring_with_noise(300, 30))
    assert result.kinds == {"G-single"} and result.graph["largest"] > 8_000
    cycle = result.examples["G-single"][0].cycle or ""
    assert cycle.startswith("T0 -ww(ring)-> T2 ") and cycle.endswith(" -rw(anti)-> T0")
    assert cycle.count("-ww(ring)->") == 299


def _serializable(model: str, seed: int, txns: int = 300) -> Any:
    gen = TxnGenerator(TxnSpec(model=model, keys=4, max_ops=4), seed)
    return check(run("serializable", gen, txns, concurrency=5, seed=seed, fail_share=0.05, info_share=0.05), model)


@pytest.mark.parametrize("model", ["list-append", "rw-register"])
def test_random_serializable_executions_show_no_anomaly(model: str) -> None:
    for seed in range(40):
        result = _serializable(model, seed)
        assert result.valid, f"seed {seed}: {result.summary()}"
        assert result.txns.fail and result.txns.info  # failed and unknown transactions were in the mix


FORBIDDEN_BY_SI = {"G0", "G1a", "G1b", "G1c", "G-single", "lost-update", "internal", "non-repeatable-read",
                   "incompatible-order", "duplicate", "garbage-read"}


@pytest.mark.parametrize("model", ["list-append", "rw-register"])
def test_snapshot_isolation_shows_write_skew_and_never_g0_g1_or_g_single(model: str) -> None:
    seen: set[str] = set()
    for seed in range(40):
        gen = TxnGenerator(TxnSpec(model=model, keys=4), seed)
        result = check(run("snapshot-isolation", gen, 300, concurrency=5, seed=seed, info_share=0.03), model)
        assert not result.kinds & FORBIDDEN_BY_SI, f"seed {seed}: {result.summary()}"
        seen |= result.kinds
        for a in result.examples.get("G2-item", []):
            assert a.cycle is not None and a.cycle.count("-rw(") >= 2
    assert "G2-item" in seen


@pytest.mark.parametrize("model", ["list-append", "rw-register"])
def test_read_committed_loses_updates_and_never_reads_dirty_data(model: str) -> None:
    seen: set[str] = set()
    for seed in range(20):
        gen = TxnGenerator(TxnSpec(model=model, keys=4), seed)
        result = check(run("read-committed", gen, 300, concurrency=5, seed=seed), model)
        assert not result.kinds & {"G0", "G1a", "G1b", "G1c", "internal", "incompatible-order"}, result.summary()
        seen |= result.kinds
    assert {"lost-update", "G-single", "non-repeatable-read"} <= seen


def test_a_search_out_of_budget_says_so() -> None:
    gen = TxnGenerator(TxnSpec(keys=4), 3)
    h = run("snapshot-isolation", gen, 300, concurrency=5, seed=3)
    assert "G2-item" in check(h).kinds
    starved = check(h, search_budget=0)
    assert "cycle-search-incomplete" in starved.kinds
    assert starved.anomaly_counts["cycle-search-incomplete"] == starved.graph["components"]


def test_the_generator_is_seeded_and_keeps_lists_short() -> None:
    spec = TxnSpec(keys=2, writes_per_key=3)
    a, b = TxnGenerator(spec, 7), TxnGenerator(spec, 7)
    stream = [a.next() for _ in range(200)]
    assert stream == [b.next() for _ in range(200)]
    appended: dict[Any, list[int]] = {}
    for mops in stream:
        for f, k, v in mops:
            if f == "append":
                appended.setdefault(k, []).append(v)
    assert all(vs == list(range(1, len(vs) + 1)) and len(vs) <= 3 for vs in appended.values())
    with pytest.raises(ValueError):
        TxnSpec(model="graph")


# --- Elle's EDN format ---------------------------------------------------------------------------------

TINY = history(ok(append(5, 3), read(5, [3])), failed(append(5, 4)), unknown(read(6)))
TINY_EDN = """\
{:type :invoke, :f :txn, :value [[:append 5 3] [:r 5 nil]], :process 0, :time 0, :index 0}
{:type :ok, :f :txn, :value [[:append 5 3] [:r 5 [3]]], :process 0, :time 1, :index 1}
{:type :invoke, :f :txn, :value [[:append 5 4]], :process 1, :time 2, :index 2}
{:type :fail, :f :txn, :value [[:append 5 4]], :process 1, :time 3, :index 3}
{:type :invoke, :f :txn, :value [[:r 6 nil]], :process 2, :time 4, :index 4}
{:type :info, :f :txn, :value [[:r 6 nil]], :process 2, :time 5, :index 5}
"""


def test_histories_are_written_in_elles_edn_one_operation_per_line() -> None:
    assert edn.dumps(TINY) == TINY_EDN


def _plain(x: Any) -> Any:
    """edn_format's values as plain Python: keywords as their names, vectors as lists, maps as dicts."""
    if isinstance(x, edn_format.Keyword):
        return x.name
    if isinstance(x, Mapping):
        return {_plain(k): _plain(v) for k, v in x.items()}
    if isinstance(x, Sequence) and not isinstance(x, str):
        return [_plain(v) for v in x]
    return x


def test_an_independent_edn_parser_reads_what_we_write_as_we_meant_it() -> None:
    h = history(ok(append("x", 1), read("y", [1, 2]), read("weird key", None)), failed(write("s", 'say "hi"\n')))
    for text_line, op in zip(edn.dumps(h).splitlines(), h, strict=True):
        parsed = _plain(edn_format.loads(text_line))
        assert parsed == {"type": op.type, "f": "txn", "process": op.process, "time": op.time, "index": op.index,
                          "value": [list(m) for m in op.value]}
        assert edn.loads(text_line).ops[0].value == tuple(tuple(m) for m in parsed["value"])


def test_edn_round_trip_checks_the_same() -> None:
    gen = TxnGenerator(TxnSpec(keys=4), 11)
    h = run("read-committed", gen, 200, concurrency=4, seed=11, fail_share=0.05, info_share=0.05)
    back = edn.loads(edn.dumps(h))
    assert [(o.index, o.process, o.type, o.time) for o in back] == [(o.index, o.process, o.type, o.time) for o in h]
    assert check(back).to_dict() == check(h).to_dict()


def test_the_reader_takes_the_subset_elle_histories_use() -> None:
    text = """; a comment line, as in Elle's own histories
{:index 0 :type :invoke :value [[:append :x 1] [:r :y nil]]}
{:index 1 :type :ok     :value [[:append :x 1] [:r :y [2]]]}
{:type :invoke, :f :start, :process :nemesis, :value nil}
{:index 2, :type :invoke, :process 1, :value [[:append :y 2]], :time 5}
{:index 3, :type :ok, :process 1, :value [[:append :y 2]], :time 9, :extra "a \\"quoted\\" string" :n -1.5}
"""
    h = edn.loads(text)
    assert [op.index for op in h] == [0, 1, 2, 2, 3]  # no :index: its position
    assert h.ops[2].f == "start" and h.ops[2].process == -1
    txns = h.txns()
    assert [(t.id, t.type, t.mops) for t in txns] == [
        (0, "ok", (("append", "x", 1), ("r", "y", [2]))), (2, "ok", (("append", "y", 2),))]
    assert check(h).valid  # T0 read T2's append: T2 -wr(y)-> T0, no cycle
    for bad in ("{:type :ok", "[1 2]]", "{:a}", "#inst \"2020\""):
        with pytest.raises(HistoryError):
            edn.loads(bad)


def test_ops_the_checker_never_sees_as_transactions() -> None:
    h = History([Op(0, 0, "invoke", (append("x", 1),)), Op(1, 0, "ok", (append("x", 1),)),
                 Op(2, 0, "ok", (append("x", 2),))])
    with pytest.raises(HistoryError, match="without an invocation"):
        h.txns()
