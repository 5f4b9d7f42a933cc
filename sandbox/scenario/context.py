"""What one run carries from phase to phase."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.progress import Progress

from sandbox.config import Settings
from sandbox.measure.consistency import Comparison
from sandbox.measure.timing import TimedStore
from sandbox.scenario.spec import RunParams, Scenario
from sandbox.stack.docker import DockerStack
from sandbox.stack.native import NativeStack
from sandbox.stores.base import ServerInfo
from sandbox.strategies.outcome import StrategyOutcome
from sandbox.workload.generator import Workload

if TYPE_CHECKING:
    from sandbox.scenario.fault_state import FaultRun


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
    progress: Progress
    results_dir: Path
    settings: Settings  # to open further connections (relays, projections, probes)
    stack: NativeStack | DockerStack  # to stop, kill, pause and restart stores (fault steps)
    comparisons: dict[str, Comparison] = field(default_factory=dict)
    read_misses: dict[str, int] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)  # orders sent per store (a prefix of the stream)
    notes: list[str] = field(default_factory=list)
    strategies: list[StrategyOutcome] = field(default_factory=list)  # write strategies compared under a fault
    faults: FaultRun | None = None  # history, checks, visibility lag, injected faults (fault_steps.py)
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # the runner always runs these

    def tracker(self, phase: str, total: int) -> Callable[[str, int], None]:
        """One progress bar per store for a phase; returns advance(store, n)."""
        tasks = {name: self.progress.add_task(f"{phase:<8} {name}", total=total) for name in self.stores}

        def advance(store: str, n: int) -> None:
            self.progress.advance(tasks[store], n)

        return advance
