"""What a server reports about its own work (query statistics, cache, persistence), as a snapshot that can
be differenced: counters (cumulative since the server started) are subtracted, gauges keep the later value.

Each store folder's `stats.py` takes the snapshot with the store's own commands; the adapter's
`server_stats()` returns it. What the server (or a stand-in) cannot answer goes into `unavailable`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Statement:
    """One normalized statement as the server counts it (PostgreSQL pg_stat_statements)."""

    key: str
    query: str
    calls: int
    total_ms: float
    rows: int

    def to_json(self) -> dict[str, Any]:
        return {"query": self.query, "calls": self.calls, "total_ms": round(self.total_ms, 2), "rows": self.rows}


@dataclass
class ServerStats:
    source: str  # the commands or views that answered
    counters: dict[str, float] = field(default_factory=dict)
    gauges: dict[str, Any] = field(default_factory=dict)
    statements: dict[str, Statement] = field(default_factory=dict)
    unavailable: list[str] = field(default_factory=list)
    writes_counter: str | None = None  # the counter that counts this run's order writes, if any
    writes_note: str = ""  # what it counts (e.g. "server-wide", "this namespace's statements")
    # The counter of everything the server was asked (statements, commands, requests): its change over a phase
    # divided by the phase's logical operations is "server calls per op". `calls_scope` says whose calls it
    # holds (server-wide counters hold other clients' too: noise the run cannot take out).
    calls_counter: str | None = None
    calls_scope: str = ""
    headline: tuple[str, ...] = ()  # counters or gauges a report shows first
    ratios: dict[str, tuple[str, str]] = field(default_factory=dict)  # name: (hits, misses) -> hits/(hits+misses)
    # One life of the counters, as the server tells it: it changes when they start again from zero (a restart,
    # a reset). Each store says what marks it (PostgreSQL: its stats_reset times, which a crash changes and a
    # clean restart keeps; Redis: run_id). None: the server cannot say; then only a counter going back shows one.
    life: str | None = None
    started: str | None = None  # when the server started, as it reports it (for the reader)

    def continues(self, before: ServerStats) -> bool:
        """Whether these counters go on from `before`'s (same life, none went back)."""
        return self.reset_from(before) is None

    def reset_from(self, before: ServerStats) -> str | None:
        """Why these counters do not go on from `before`'s (a restart, a reset), or None when they do."""
        if self.life is not None and before.life is not None and self.life != before.life:
            return f"counters started again (server started {self.started or 'at an unknown time'})"
        back = next((k for k, v in self.counters.items() if v < before.counters.get(k, v)), None)
        if back is not None:
            return f"{back} went back from {before.counters[back]:g} to {self.counters[back]:g} (a restart or reset)"
        return None

    def since(self, before: ServerStats, top: int = 8) -> dict[str, Any]:
        """The difference from an earlier snapshot, as results record it. When the counters started again in
        between, the difference is what they counted since then (from zero), never a negative number, and
        `reset` says why."""
        reset = self.reset_from(before)
        out = self._diff(ServerStats(before.source) if reset else before, top)
        if reset:
            out["reset"] = {"why": reset, "server_started": self.started}
        return out

    def _diff(self, before: ServerStats, top: int) -> dict[str, Any]:
        counters = {k: round(v - before.counters.get(k, 0), 3) for k, v in self.counters.items()}
        statements = []
        for key, s in self.statements.items():
            b = before.statements.get(key)
            calls = s.calls - (b.calls if b else 0)
            if calls > 0:
                statements.append(Statement(key, s.query, calls, s.total_ms - (b.total_ms if b else 0),
                                            s.rows - (b.rows if b else 0)))
        statements.sort(key=lambda s: -s.total_ms)
        ratios = {}
        for name, (hits, misses) in self.ratios.items():
            h, m = counters.get(hits, 0), counters.get(misses, 0)
            ratios[name] = round(h / (h + m), 4) if h + m else None
        headline = {k: counters[k] if k in counters else self.gauges[k] for k in self.headline
                    if k in counters or k in self.gauges}
        return {"headline": {**headline, **ratios}, "source": self.source,
                "counters": {k: v for k, v in counters.items() if v},
                "gauges": self.gauges, "top_statements": [s.to_json() for s in statements[:top]],
                "unavailable": self.unavailable,
                "writes_seen": counters.get(self.writes_counter) if self.writes_counter else None,
                "writes_counter": self.writes_counter, "writes_note": self.writes_note,
                "calls": counters.get(self.calls_counter) if self.calls_counter else None,
                "calls_counter": self.calls_counter, "calls_scope": self.calls_scope}


def unavailable(source: str, why: str) -> ServerStats:
    return ServerStats(source, unavailable=[why])


def flatten(prefix: str, doc: Mapping[str, Any], into: dict[str, float]) -> dict[str, float]:
    """Numbers in a nested document as `prefix.a.b` keys (booleans and text left out)."""
    for key, value in doc.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            flatten(name, value, into)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            into[name] = float(value)
    return into
