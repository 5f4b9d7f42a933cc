"""Server-side statistics around each phase of a run: a snapshot of every store before and after, the
difference per phase and over the whole run, and the cross-check of writes the server counted against
the orders the client wrote."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.stores.contract import ServerCounters
from sandbox.stores.server_stats import ServerStats, unavailable

SNAPSHOT_TIMEOUT_S = 5.0  # a paused or restarting server costs a phase at most this much


async def snapshot_all(stores: Sequence[Any]) -> dict[str, ServerStats]:
    """Every store's statistics now; a store that cannot answer (down, stand-in) gets an `unavailable` entry."""
    async def one(store: Any) -> ServerStats:
        name = store.name
        if not isinstance(store, ServerCounters):
            return unavailable("-", f"{name}: the sandbox does not ask this server for statistics")
        try:
            async with asyncio.timeout(SNAPSHOT_TIMEOUT_S):
                return await store.server_stats()
        except Exception as exc:
            return unavailable("-", f"{name}: no statistics ({type(exc).__name__}: {str(exc)[:120]})")

    results = await asyncio.gather(*(one(s) for s in stores))
    return {s.name: r for s, r in zip(stores, results, strict=True)}


@dataclass
class ServerStatsRun:
    """The differences per phase, and every snapshot in order for the run's total (which a restart splits)."""

    phases: list[tuple[str, dict[str, dict[str, Any]]]] = field(default_factory=list)
    first: dict[str, ServerStats] = field(default_factory=dict)
    last: dict[str, ServerStats] = field(default_factory=dict)
    # (when, snapshots): "before <phase>" / "after <phase>", in the order they were taken
    taken: list[tuple[str, dict[str, ServerStats]]] = field(default_factory=list)

    def record(self, phase: str, before: dict[str, ServerStats], after: dict[str, ServerStats],
               ops: dict[str, int] | None = None) -> None:
        """`ops`: per store, the logical operations the phase timed (a batch is one), for server calls per op."""
        self.first = self.first or before
        self.last = after
        self.taken += [(f"before {phase}", before), (f"after {phase}", after)]
        diffs = {name: after[name].since(before[name]) for name in after if name in before}
        for name, diff in diffs.items():
            diff["calls_per_op"] = calls_per_op(diff, (ops or {}).get(name, 0))
        self.phases.append((phase, diffs))

    def calls_per_op(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Per store and phase, the server's calls per logical operation (phases that timed no operation left out)."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for phase, stores in self.phases:
            for name, diff in stores.items():
                if diff["calls_per_op"]["ops"]:
                    out.setdefault(name, {})[phase] = diff["calls_per_op"]
        return out

    def total(self) -> dict[str, dict[str, Any]]:
        """Per store, the change from the first snapshot to the last. Where the counters started again in between
        (a restart), the change is given per span of one life instead, never as one negative number."""
        out = {}
        for name, last in self.last.items():
            if name not in self.first:
                continue
            spans = self.spans(name)
            if len(spans) <= 1:
                out[name] = last.since(self.first[name])
            else:
                out[name] = _split(spans)
        return out

    def spans(self, name: str) -> list[tuple[str, str, ServerStats | None, ServerStats, str | None]]:
        """The store's snapshots cut where its counters started again: (from, to, first snapshot of the span (None:
        counted from zero at a restart), last one, why it started again)."""
        chain = [(when, snaps[name]) for when, snaps in self.taken if name in snaps and snaps[name].counters]
        if not chain:
            return []
        spans: list[tuple[str, str, ServerStats | None, ServerStats, str | None]] = []
        start_when, start, why = "the run's start", chain[0][1], None
        prev_when, prev = chain[0]
        base: ServerStats | None = start
        for when, snap in chain[1:]:
            if (reset := snap.reset_from(prev)) is not None:
                spans.append((start_when, prev_when, base, prev, why))
                start_when, base, why = "the restart", None, reset
            prev_when, prev = when, snap
        spans.append((start_when, prev_when, base, prev, why))
        return spans

    def to_json(self, client_writes: dict[str, int]) -> dict[str, Any]:
        total = self.total()
        # The client's writes are the write phase's: the server's counts of that phase are what to set them
        # against (prepare writes reference data and a marker too); the run's total where no phase is so named.
        # A store that restarted keeps the run's total (cross_check shows it without a difference).
        written = {name: diff for phase, stores in self.phases if phase == "write" for name, diff in stores.items()
                   if name in total and not total[name].get("restarts") and "reset" not in diff}
        return {"phases": [{"phase": phase, "stores": stores} for phase, stores in self.phases],
                "calls_per_op": self.calls_per_op(),
                "run": total, "cross_check": cross_check({**total, **written}, client_writes)}


def calls_per_op(diff: dict[str, Any], ops: int) -> dict[str, Any]:
    """The server's calls over a phase divided by the phase's logical operations, with whose calls they are; none
    where the server has no counter, the counters started again inside the phase, or the phase timed nothing."""
    calls = diff.get("calls")
    per_op = None if calls is None or not ops or "reset" in diff else round(calls / ops, 3)
    why = ("no counter of calls on this server" if calls is None else "the counters started again in the phase"
           if "reset" in diff else "no timed operations" if not ops else None)
    return {"calls": calls, "ops": ops, "per_op": per_op, "scope": diff.get("calls_scope"), "none_because": why}


def _split(spans: list[tuple[str, str, ServerStats | None, ServerStats, str | None]]) -> dict[str, Any]:
    """A store whose counters started again during the run: each span's change, and their sum as a lower bound
    (what it did between the last snapshot before a restart and the restart was never seen)."""
    parts = []
    for start_when, end_when, base, last, why in spans:
        diff = last.since(base if base is not None else ServerStats(last.source))
        diff.pop("reset", None)
        parts.append({"from": start_when, "to": end_when, "restart": why, "server_started": last.started,
                      **{k: diff[k] for k in ("headline", "counters", "writes_seen", "top_statements")}})
    last = spans[-1][3]
    out = last.since(ServerStats(last.source))
    summed: dict[str, float] = {}
    for part in parts:
        for key, value in part["counters"].items():
            summed[key] = round(summed.get(key, 0.0) + value, 3)
    seen = [p["writes_seen"] for p in parts if p["writes_seen"] is not None]
    headline: dict[str, Any] = {k: summed.get(k, 0.0) if k in last.counters else last.gauges[k]
                                for k in last.headline if k in last.counters or k in last.gauges}
    for name, (hits, misses) in last.ratios.items():
        h, m = summed.get(hits, 0.0), summed.get(misses, 0.0)
        headline[name] = round(h / (h + m), 4) if h + m else None
    out.update(counters={k: v for k, v in summed.items() if v}, writes_seen=sum(seen) if seen else None,
               spans=parts, at_least=True, headline=headline, restarts=[p["restart"] for p in parts if p["restart"]])
    out.pop("reset", None)
    return out


def cross_check(total: dict[str, dict[str, Any]], client_writes: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Orders written per the client against the writes the server counted, for the stores where both exist
    (the run wrote through its own clients, and the server counts writes); a server that restarted during the
    run is shown without a difference: what it counted before the restart was only seen up to a snapshot."""
    out = {}
    for name, diff in total.items():
        client = client_writes.get(name)
        seen = diff.get("writes_seen")
        if client is None or diff.get("writes_counter") is None:
            continue
        restarted = bool(diff.get("restarts"))
        out[name] = {"client_orders_written": client, "server_writes_seen": seen,
                     "server_counter": diff.get("writes_counter"), "what_it_counts": diff.get("writes_note"),
                     "difference": None if seen is None or restarted else seen - client,
                     "restarted": restarted}
    return out
