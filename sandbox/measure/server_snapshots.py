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
        if not isinstance(store, ServerCounters):
            return unavailable("-", f"{store.name}: the sandbox does not ask this server for statistics")
        name = store.name
        try:
            async with asyncio.timeout(SNAPSHOT_TIMEOUT_S):
                return await store.server_stats()
        except Exception as exc:
            return unavailable("-", f"{name}: no statistics ({type(exc).__name__}: {str(exc)[:120]})")

    results = await asyncio.gather(*(one(s) for s in stores))
    return {s.name: r for s, r in zip(stores, results, strict=True)}


@dataclass
class ServerStatsRun:
    """The differences per phase, and the first and last snapshots for the run's total."""

    phases: list[tuple[str, dict[str, dict[str, Any]]]] = field(default_factory=list)
    first: dict[str, ServerStats] = field(default_factory=dict)
    last: dict[str, ServerStats] = field(default_factory=dict)

    def record(self, phase: str, before: dict[str, ServerStats], after: dict[str, ServerStats]) -> None:
        self.first = self.first or before
        self.last = after
        self.phases.append((phase, {name: after[name].since(before[name]) for name in after if name in before}))

    def total(self) -> dict[str, dict[str, Any]]:
        return {name: s.since(self.first[name]) for name, s in self.last.items() if name in self.first}

    def to_json(self, client_writes: dict[str, int]) -> dict[str, Any]:
        total = self.total()
        # The client's writes are the write phase's: the server's counts of that phase are what to set them
        # against (prepare writes reference data and a marker too); the run's total where no phase is so named.
        written = {name: diff for phase, stores in self.phases if phase == "write" for name, diff in stores.items()}
        return {"phases": [{"phase": phase, "stores": stores} for phase, stores in self.phases],
                "run": total, "cross_check": cross_check({**total, **written}, client_writes)}


def cross_check(total: dict[str, dict[str, Any]], client_writes: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Orders written per the client against the writes the server counted (None where it counts none)."""
    out = {}
    for name, diff in total.items():
        client = client_writes.get(name)
        seen = diff.get("writes_seen")
        out[name] = {"client_orders_written": client, "server_writes_seen": seen,
                     "server_counter": diff.get("writes_counter"), "what_it_counts": diff.get("writes_note"),
                     "difference": None if client is None or seen is None else seen - client}
    return out
