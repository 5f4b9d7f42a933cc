"""List-append: version orders from the reads, the anomalies a single transaction or key shows, the edges.

Every append puts a unique element on a key's list, so a read reveals the whole order of appends up to
it: the longest read of a key is its version order (every other read must be a prefix of it). Each
committed transaction's appends to a key form one version; consecutive elements by one writer are one
version. Appends no read ever showed come after the longest read, in an order nobody saw.

Which transactions count: ok ones; info ones (outcome unknown) only through their appends, which may
explain what others read (a transaction whose append was seen committed); their reads and those of
failed transactions say nothing. Elements from failed transactions are aborted reads (G1a), never
versions.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.measure.isolation.anomalies import Findings
from sandbox.measure.isolation.edn import brief, name, txn_line, value
from sandbox.measure.isolation.graph import RW, WR, WW, DepGraph
from sandbox.measure.isolation.history import APPEND, READ, HistoryError, Key, Txn

Read = tuple[int, tuple[Any, ...], bool]  # (transaction position, the list seen, external: before its own append)


@dataclass
class _Seen:
    reads: dict[Key, list[Read]] = field(default_factory=dict)  # every ok read, per key
    # (key, first list read) -> transactions that read it, then appended to the key: lost updates if > 1
    rmw: dict[tuple[Key, tuple[Any, ...]], list[int]] = field(default_factory=dict)


def _writers(txns: Sequence[Txn]) -> tuple[dict[Key, dict[Any, int]], set[tuple[Key, Any]]]:
    """key -> element -> the transaction that appended it; and the (key, element) pairs a transaction
    appended before appending again to the same key (intermediate states)."""
    writers: dict[Key, dict[Any, int]] = {}
    intermediate: set[tuple[Key, Any]] = set()
    for i, t in enumerate(txns):
        last: dict[Key, Any] = {}
        for f, k, v in t.mops:
            if f == APPEND:
                of_key = writers.setdefault(k, {})
                if v in of_key:
                    raise HistoryError(f"{value(v)} appended to {name(k)} twice ({txns[of_key[v]].name} and "
                                       f"{t.name}): list-append needs every element unique per key")
                of_key[v] = i
                if k in last:
                    intermediate.add((k, last[k]))
                last[k] = v
            elif f != READ:
                raise HistoryError(f"{t.name}: [:{f} ...] in a list-append history")
    return writers, intermediate


def _reread(t: Txn, k: Key, got: tuple[Any, ...], base: tuple[Any, ...] | None, own: tuple[Any, ...],
            found: Findings) -> None:
    """A read of k after the transaction's own read (`base`, None if none) and appends (`own`) since."""
    cut = len(got) - len(own)
    if cut < 0 or got[cut:] != own:  # its own appends are missing or out of place: wrong at any level
        shown = brief((*base, *own)) if base is not None else "[... " + " ".join(value(v) for v in own[-6:]) + "]"
        found.add("internal", (t.id,), f"{t.name} read {name(k)} = {brief(got)} after its own reads and appends "
                  f"made it {shown}", detail=(txn_line(t),))
    elif base is not None and got[:cut] != base:
        grew = got[:len(base)] == base  # others' appends appeared: read committed allows that
        found.add("non-repeatable-read" if grew else "internal", (t.id,), (
            f"{t.name} read {name(k)} = {brief(got)} after reading it as {brief(base)}"
            + (f" and appending {value(list(own))}" if own else "")), detail=(txn_line(t),))


def _scan(txns: Sequence[Txn], found: Findings) -> _Seen:
    """One pass over committed transactions: their reads, internal consistency, read-modify-writes."""
    seen = _Seen()
    for i, t in enumerate(txns):
        if t.type != "ok":
            continue
        # k -> (the transaction's last read of k, None if it has not read k; its own appends to k since)
        expect: dict[Key, tuple[tuple[Any, ...] | None, tuple[Any, ...]]] = {}
        first: dict[Key, tuple[Any, ...]] = {}
        appended: set[Key] = set()
        for f, k, v in t.mops:
            if f == READ:
                got = () if v is None else tuple(v)
                seen.reads.setdefault(k, []).append((i, got, k not in appended))
                if k not in appended and k not in first:
                    first[k] = got
                if k in expect:
                    _reread(t, k, got, *expect[k], found)
                expect[k] = (got, ())
            else:
                base, own = expect.get(k, (None, ()))
                if base is not None and v in base:
                    found.add("internal", (t.id,), (
                        f"{t.name} read {value(v)} in {name(k)} before appending it"), detail=(txn_line(t),))
                expect[k] = (base, (*own, v))
                if k not in appended:
                    appended.add(k)
                    if k in first:
                        seen.rmw.setdefault((k, first[k]), []).append(i)
    return seen


def _lost_updates(txns: Sequence[Txn], seen: _Seen, found: Findings) -> None:
    for (k, got), group in seen.rmw.items():
        if len(group) > 1:
            ts = [txns[i] for i in group]
            found.add("lost-update", tuple(t.id for t in ts), (
                f"{', '.join(t.name for t in ts)} each read {name(k)} = {brief(got)} and then appended to it"),
                detail=tuple(txn_line(t) for t in ts))


@dataclass
class _Key:
    """One key's version order: the longest read, each element's position, the versions in order."""

    order: tuple[Any, ...]
    runs: list[int]  # the writer of each version, in order
    run_at: list[int]  # per position of `order`: its version's index in runs, -1 for no version
    bad: dict[str, int]  # G1a / garbage-read / duplicate -> first position of such an element
    unread: list[int]  # transactions (not failed) whose appends no read showed


def _order(k: Key, reads: list[Read], of_key: dict[Any, int], txns: Sequence[Txn]) -> _Key:
    order = max(reads, key=lambda r: len(r[1]))[1] if reads else ()
    pos: dict[Any, int] = {}
    runs: list[int] = []
    run_at: list[int] = []
    bad: dict[str, int] = {}
    for j, e in enumerate(order):
        w = of_key.get(e)
        kind = ("duplicate" if e in pos else "garbage-read" if w is None
                else "G1a" if txns[w].type == "fail" else None)
        if kind is not None:
            bad.setdefault(kind, j)
            run_at.append(-1)
            continue
        pos[e] = j
        if not runs or runs[-1] != w:
            runs.append(w)  # type: ignore[arg-type]  # w is not None here
        run_at.append(len(runs) - 1)
    unread = list(dict.fromkeys(w for e, w in of_key.items() if e not in pos and txns[w].type != "fail"))
    return _Key(order, runs, run_at, bad, unread)


def _bad_read(kind: str, k: Key, t: Txn, got: tuple[Any, ...], element: Any, writer: Txn | None,
              found: Findings) -> None:
    what = {"G1a": f"written by {writer.name if writer else '?'}, which failed",
            "garbage-read": "which no transaction appended", "duplicate": "more than once"}[kind]
    found.add(kind, (t.id,) + ((writer.id,) if writer else ()), (
        f"{t.name} read {name(k)} = {brief(got)}: it shows {value(element)} {what}"),
        detail=(txn_line(t),) + ((txn_line(writer),) if writer else ()))


def _key_edges(k: Key, reads: list[Read], of_key: dict[Any, int], intermediate: set[tuple[Key, Any]],
               txns: Sequence[Txn], graph: DepGraph, found: Findings) -> None:
    key = _order(k, reads, of_key, txns)
    order, runs, run_at = key.order, key.runs, key.run_at
    for a, b in itertools.pairwise(runs):
        graph.add(a, b, WW, k)
    if runs:
        for u in key.unread:
            graph.add(runs[-1], u, WW, k)  # an append nobody saw came after everything somebody saw
    longest = next(r for r in reads if r[1] is order) if reads else None
    incompatible = False
    for i, got, external in reads:
        n = len(got)
        if n and got is not order and got != order[:n]:
            if not incompatible and longest is not None:
                incompatible = True
                ta, tb = txns[longest[0]], txns[i]
                found.add("incompatible-order", (ta.id, tb.id), (
                    f"{ta.name} read {name(k)} = {brief(order)} and {tb.name} read {brief(got)}: neither is a "
                    "prefix of the other"), detail=(txn_line(ta), txn_line(tb)))
            for e in got:  # this read is not a prefix: look at its own elements
                w = of_key.get(e)
                if w is None or txns[w].type == "fail":
                    _bad_read("G1a" if w is not None else "garbage-read", k, txns[i], got, e,
                              txns[w] if w is not None else None, found)
                    break
            continue  # no place in the version order: no edges
        for kind, j in key.bad.items():
            if j < n and kind != "duplicate":
                w = of_key.get(order[j])
                _bad_read(kind, k, txns[i], got, order[j], txns[w] if w is not None else None, found)
        r = -1
        if n:
            r = run_at[n - 1]
            writer = of_key.get(got[-1])
            if (k, got[-1]) in intermediate and writer != i and r >= 0:
                w_txn = txns[writer]  # type: ignore[index]  # an intermediate element has a writer
                found.add("G1b", (txns[i].id, w_txn.id), (
                    f"{txns[i].name} read {name(k)} = {brief(got)}, a state {w_txn.name} went on to append to"),
                    detail=(txn_line(txns[i]), txn_line(w_txn)))
            if r < 0:
                continue  # the read ends on an element that is no version (reported above)
            if external:
                graph.add(runs[r], i, WR, k)
        if not external:
            continue  # reads after the transaction's own append are checked as internal consistency
        if r + 1 < len(runs):
            graph.add(i, runs[r + 1], RW, k)
        else:
            seen_from = runs[r] if r >= 0 else -1  # its later appends are its own version, not an overwrite
            for u in key.unread:
                if u != seen_from:
                    graph.add(i, u, RW, k)
    if "duplicate" in key.bad and longest is not None:
        _bad_read("duplicate", k, txns[longest[0]], order, order[key.bad["duplicate"]], None, found)


def infer(txns: Sequence[Txn], found: Findings) -> DepGraph:
    """The dependency graph of a list-append history; what needs no graph goes straight to `found`."""
    writers, intermediate = _writers(txns)
    seen = _scan(txns, found)
    _lost_updates(txns, seen, found)
    graph = DepGraph(nodes=len(txns))
    for k in {**writers, **seen.reads}:
        _key_edges(k, seen.reads.get(k, []), writers.get(k, {}), intermediate, txns, graph, found)
    return graph
