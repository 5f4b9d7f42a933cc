"""What one run carries from phase to phase."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.config import Settings
from sandbox.measure.analytics_run import AnalyticsRun
from sandbox.measure.consistency import Comparison
from sandbox.measure.driver import LoadOutcome
from sandbox.measure.progress import Progress
from sandbox.measure.server_snapshots import ServerStatsRun
from sandbox.measure.timing import TimedStore
from sandbox.scenario.spec import RunParams, Scenario
from sandbox.stack.base import Stack
from sandbox.stores.base import ServerInfo
from sandbox.strategies.cache.mix import PolicyOutcome
from sandbox.strategies.outcome import StrategyOutcome
from sandbox.workload.generator import Workload

if TYPE_CHECKING:
    from sandbox.scenario.fault_run import FaultRun
    from sandbox.scenario.migration_results import MigrationRun
    from sandbox.scenario.mix_run import MixRun
    from sandbox.scenario.replica_results import ReplicaResults


@dataclass
class RunContext:
    scenario: Scenario
    params: RunParams
    run_id: str
    backend: str
    workload: Workload
    stores: dict[str, TimedStore]
    servers: dict[str, ServerInfo]
    endpoints: dict[str, str]  # passwords masked
    progress: Progress  # drawn by the caller (the CLI: rich bars)
    results_dir: Path
    settings: Settings  # to open further connections (relays, projections, probes)
    stack: Stack  # to stop, kill, pause and restart stores (fault steps)
    comparisons: dict[str, Comparison] = field(default_factory=dict)
    read_misses: dict[str, int] = field(default_factory=dict)
    server_settings: dict[str, dict[str, str]] = field(default_factory=dict)  # as each server reported them
    # What each load phase gave per store and op besides the histograms (which stay in `stores`).
    loads: dict[str, dict[str, LoadOutcome]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    strategies: list[StrategyOutcome] = field(default_factory=list)  # write strategies compared under a fault
    faults: FaultRun | None = None  # history, checks, visibility lag, injected faults (fault_steps.py)
    replicas: ReplicaResults | None = None  # guarantees and faults on read replicas (replica_steps.py)
    analytics: AnalyticsRun | None = None  # the analytics query set's answers and latencies (analytics_steps.py)
    cache: list[PolicyOutcome] = field(default_factory=list)  # cache-aside policies side by side (cache_steps.py)
    server_stats: ServerStatsRun = field(default_factory=ServerStatsRun)  # servers' own statistics per phase
    migrations: MigrationRun | None = None  # schema changes under load (migration_step.py)
    mix: MixRun | None = None  # data set, mix, update checks, capacity (mix_steps.py)
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # the runner always runs these
    # Results of the steps that measure one experiment of their own (sharding, reshard, partitioning, routing),
    # by step name, as plain JSON values: summary.json carries them, report/ renders them.
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    completed_phases: list[str] = field(default_factory=list)
    interrupted: str | None = None  # the signal that stopped the run (SIGINT, SIGTERM)

    @property
    def written(self) -> dict[str, int]:
        """Orders the write phase sent per store (a prefix of the stream)."""
        return {store: ops["write"].sent for store, ops in self.loads.items()
                if "write" in ops and ops["write"].sent is not None}

    def record_loads(self, op: str, outcomes: dict[str, LoadOutcome]) -> None:
        for store, outcome in outcomes.items():
            self.loads.setdefault(store, {})[op] = outcome

    def tracker(self, phase: str, total: int) -> Callable[[str, int], None]:
        """One progress bar per store for a phase; returns advance(store, n)."""
        bars = {name: self.progress.bar(f"{phase:<8} {name}", total) for name in self.stores}

        def advance(store: str, n: int) -> None:
            bars[store].advance(n)

        return advance
