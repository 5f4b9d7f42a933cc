"""What one run carries from phase to phase: the core of a run, and one typed map of the experiments' results."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.config import Settings
from sandbox.measure.driver import LoadOutcome
from sandbox.measure.progress import Progress
from sandbox.measure.server_snapshots import ServerStatsRun
from sandbox.measure.timing import TimedStore
from sandbox.scenario.results import Results
from sandbox.scenario.spec import RunParams, Scenario
from sandbox.stack.base import Stack
from sandbox.stores.contract import ServerInfo
from sandbox.workload.dataset import Dataset
from sandbox.workload.schema import Model


@dataclass
class RunContext:
    scenario: Scenario
    params: RunParams
    run_id: str
    backend: str
    dataset: Dataset  # the model's data for this run's seed: reference data, and root i made on demand
    stores: dict[str, TimedStore]
    servers: dict[str, ServerInfo]
    endpoints: dict[str, str]  # passwords masked
    progress: Progress  # drawn by the caller (the CLI: rich bars)
    results_dir: Path
    settings: Settings  # to open further connections (relays, projections, probes)
    stack: Stack  # to stop, kill, pause and restart stores (fault steps)
    server_settings: dict[str, dict[str, str]] = field(default_factory=dict)  # as each server reported them
    # What each load phase gave per store and op besides the histograms (which stay in `stores`).
    loads: dict[str, dict[str, LoadOutcome]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    server_stats: ServerStatsRun = field(default_factory=ServerStatsRun)  # servers' own statistics per phase
    results: Results = field(default_factory=Results)  # what the experiments measured, by result class
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # the runner always runs these
    completed_phases: list[str] = field(default_factory=list)
    interrupted: str | None = None  # the signal that stopped the run (SIGINT, SIGTERM)

    @property
    def model(self) -> Model:
        return self.dataset.model

    @property
    def written(self) -> dict[str, int]:
        """Root instances the write phase sent per store (a prefix of the stream)."""
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
