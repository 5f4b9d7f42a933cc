"""Read-write registers ([:w k v] / [:r k v], every written value unique per key): weaker inference than
list-append. A read names its writer exactly (wr), but a read shows one value, not the history before it,
so the version order is known only where the history proves it:

- the initial state (nil) comes before every write of the key;
- a committed transaction that read v and then wrote the key installed its version after v
  (writes follow reads).

No process or real-time order is used, so two blind writes stay unordered, and cycles that depend on
their order go unseen. Same rules as list-append for ok / info / fail transactions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.measure.isolation.anomalies import Findings
from sandbox.measure.isolation.edn import name, txn_line, value
from sandbox.measure.isolation.graph import RW, WR, WW, DepGraph
from sandbox.measure.isolation.history import READ, WRITE, HistoryError, Key, Txn


@dataclass
class _Seen:
    reads: list[tuple[int, Key, Any]] = field(default_factory=list)  # external reads of ok transactions
    readers: dict[Key, dict[Any, list[int]]] = field(default_factory=dict)  # key -> value read -> readers
    rmw: dict[tuple[Key, Any], list[int]] = field(default_factory=dict)  # (key, first read) -> writers after it
    follows: list[tuple[Key, Any, int]] = field(default_factory=list)  # (key, value read, txn that then wrote)


def _writers(txns: Sequence[Txn]) -> tuple[dict[Key, dict[Any, int]], set[tuple[Key, Any]]]:
    writers: dict[Key, dict[Any, int]] = {}
    intermediate: set[tuple[Key, Any]] = set()
    for i, t in enumerate(txns):
        last: dict[Key, Any] = {}
        for f, k, v in t.mops:
            if f == WRITE:
                of_key = writers.setdefault(k, {})
                if v is None or v in of_key:
                    who = f"({txns[of_key[v]].name} and {t.name})" if v in of_key else f"by {t.name}"
                    raise HistoryError(f"{value(v)} written to {name(k)} twice or as nil {who}: registers need "
                                       "every written value unique per key")
                of_key[v] = i
                if k in last:
                    intermediate.add((k, last[k]))
                last[k] = v
            elif f != READ:
                raise HistoryError(f"{t.name}: [:{f} ...] in a read-write register history")
    return writers, intermediate


def _scan(txns: Sequence[Txn], found: Findings) -> _Seen:
    seen = _Seen()
    for i, t in enumerate(txns):
        if t.type != "ok":
            continue
        expect: dict[Key, tuple[str, Any]] = {}  # k -> (READ or WRITE, the value): the transaction's last op on k
        read_before: dict[Key, list[Any]] = {}  # external reads of k, before the transaction wrote it
        written: set[Key] = set()
        for f, k, v in t.mops:
            if f == READ:
                if k in expect and expect[k][1] != v:
                    last, was = expect[k]  # a changed re-read is allowed by read committed; a lost own write never
                    found.add("internal" if last == WRITE else "non-repeatable-read", (t.id,), (
                        f"{t.name} read {name(k)} = {value(v)} after it {'wrote' if last == WRITE else 'read'} "
                        f"{value(was)}"), detail=(txn_line(t),))
                if k not in written:
                    seen.reads.append((i, k, v))
                    seen.readers.setdefault(k, {}).setdefault(v, []).append(i)
                    read_before.setdefault(k, []).append(v)
                expect[k] = (READ, v)
            else:
                if v in read_before.get(k, ()):
                    found.add("internal", (t.id,), f"{t.name} read {name(k)} = {value(v)} before writing it",
                              detail=(txn_line(t),))
                expect[k] = (WRITE, v)
                if k not in written:
                    written.add(k)
                    before = read_before.get(k, [])
                    if before:
                        seen.rmw.setdefault((k, before[0]), []).append(i)
                    seen.follows += [(k, a, i) for a in dict.fromkeys(before)]
    return seen


def infer(txns: Sequence[Txn], found: Findings) -> DepGraph:
    """The dependency graph of a register history; what needs no graph goes straight to `found`."""
    writers, intermediate = _writers(txns)
    seen = _scan(txns, found)
    graph = DepGraph(nodes=len(txns))
    for (k, got), group in seen.rmw.items():
        if len(group) > 1:
            ts = [txns[i] for i in group]
            found.add("lost-update", tuple(t.id for t in ts), (
                f"{', '.join(t.name for t in ts)} each read {name(k)} = {value(got)} and then wrote it"),
                detail=tuple(txn_line(t) for t in ts))
    for i, k, v in seen.reads:
        if v is None:
            continue
        w = writers.get(k, {}).get(v)
        t = txns[i]
        if w is None or txns[w].type == "fail":
            kind, why = ("garbage-read", "which no transaction wrote") if w is None else (
                "G1a", f"written by {txns[w].name}, which failed")
            found.add(kind, (t.id,) + (() if w is None else (txns[w].id,)), (
                f"{t.name} read {name(k)} = {value(v)}, {why}"), detail=(txn_line(t),))
            continue
        if (k, v) in intermediate and w != i:
            found.add("G1b", (t.id, txns[w].id), (
                f"{t.name} read {name(k)} = {value(v)}, which {txns[w].name} overwrote within itself"),
                detail=(txn_line(t), txn_line(txns[w])))
        graph.add(w, i, WR, k)
    for k, by_value in seen.readers.items():  # the initial state precedes every write of the key
        for r in by_value.get(None, []):
            for w in writers.get(k, {}).values():
                if txns[w].type != "fail":
                    graph.add(r, w, RW, k)
    for k, a, i in seen.follows:  # i's version of k comes after a
        if a is None:
            continue  # covered by the initial state above
        w = writers.get(k, {}).get(a)
        if w is not None and txns[w].type != "fail":
            graph.add(w, i, WW, k)
        for r in seen.readers[k].get(a, []):
            graph.add(r, i, RW, k)
    return graph
