"""What one strategy did under the fault: the figures the side-by-side table and summary.json show."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from sandbox.measure.latency import OpStats, summarize
from sandbox.measure.model_compare import ModelComparison

ID_LIST_LIMIT = 200  # ids written to summary.json per list


@dataclass
class Divergence:
    """Where the stores disagree with what the client was told, at one moment."""

    divergent: list[str]  # keys some store lacks, holds unacknowledged, or holds differently
    lost_acked: list[str]  # acknowledged root instances missing from at least one store
    duplicates: int  # keys a store returned twice + instances its own counters count more than once
    per_store: dict[str, dict[str, Any]]

    @classmethod
    def of(cls, comparisons: dict[str, ModelComparison]) -> Divergence:
        """From each store's read-back (measure/model_compare.py, asked to list every key it found wrong)."""
        divergent: set[str] = set()
        lost: set[str] = set()
        duplicates = 0
        per_store = {}
        for name, c in comparisons.items():
            divergent |= set(c.missing_examples) | set(c.extra_examples) | set(c.differing_keys)
            lost |= set(c.missing_examples)
            counted = max(c.counted.values(), default=c.held)  # the store's own checked aggregates (counters)
            duplicates += c.duplicates + max(0, counted - c.held) * (c.error is None)
            per_store[name] = {"held": c.held, "missing": c.missing, "extra": c.extra, "differing": c.differing,
                               "duplicates": c.duplicates, "error": c.error}
        return cls(sorted(divergent), sorted(lost), duplicates, per_store)

    def to_json(self) -> dict[str, Any]:
        return {"divergent": len(self.divergent), "divergent_ids": self.divergent[:ID_LIST_LIMIT],
                "lost_acknowledged": len(self.lost_acked), "lost_acknowledged_ids": self.lost_acked[:ID_LIST_LIMIT],
                "duplicates": self.duplicates, "per_store": self.per_store}


@dataclass
class StrategyOutcome:
    strategy: str
    namespace: str
    stores: list[str]  # the stores it brought along (the others of the run are in left_out)
    converges: bool  # the strategy promises convergence: divergence left after recovery is a finding
    # Client-visible, timed by sandbox.measure.timing.TimedCalls: one operation = one root instance placed the
    # strategy's way; ok = acknowledged, failed/unknown = the client saw a failure.
    save: OpStats = field(default_factory=OpStats)
    elapsed_s: float = 0.0  # wall time of the write phase
    at_end: Divergence | None = None  # right after the last write returned (store restarted)
    after_recovery: Divergence | None = None  # after the strategy's own catch-up (or none) finished
    settled: bool = False  # background work caught up within the timeout
    converge_s: float | None = None  # store restart -> caught up and no divergence; None: did not
    fault: dict[str, Any] = field(default_factory=dict)
    lag: dict[str, HdrHistogram] = field(default_factory=dict)
    store_ops: dict[str, dict[str, Any]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)  # store -> why the strategy could not bring it along

    @property
    def acked(self) -> int:
        return self.save.ok

    @property
    def failed(self) -> int:
        return self.save.failed + self.save.unknown

    @property
    def finding(self) -> str | None:
        """Why this outcome is a consistency finding (exit status 3), or None."""
        if not self.converges:
            return None
        after = self.after_recovery
        if not self.settled:
            return "did not catch up within the settle timeout"
        if after is not None and (after.divergent or after.duplicates):
            return f"{len(after.divergent)} orders still divergent, {after.duplicates} duplicates after recovery"
        return None

    @property
    def throughput(self) -> float | None:
        return self.acked / self.elapsed_s if self.elapsed_s else None

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy, "namespace": self.namespace, "stores": self.stores,
            "promises_convergence": self.converges,
            "acknowledged": self.acked, "failed": self.failed,
            "throughput_orders_s": round(self.throughput, 1) if self.throughput else None,
            "write_latency": self.save.to_json(self.elapsed_s),
            "divergence_at_end": self.at_end.to_json() if self.at_end else None,
            "divergence_after_recovery": self.after_recovery.to_json() if self.after_recovery else None,
            "settled": self.settled, "time_to_converge_s": self.converge_s, "finding": self.finding,
            "fault": self.fault,
            "lag_ms": {store: summarize(h) for store, h in self.lag.items()},
            "store_operations": self.store_ops, "details": self.details, "left_out": self.left_out,
        }
