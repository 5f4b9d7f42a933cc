"""FaultRun: what the fault, history, check and visibility steps of one run share and leave for the report;
other experiments (durability, disk full, mixes) add their checks to it and read its history."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sandbox.experiments.faults.recovery import RecoveryWatch
from sandbox.measure.checker import CheckReport
from sandbox.measure.history import OpHistory
from sandbox.measure.visibility import VisibilityProbe
from sandbox.scenario.context import RunContext
from sandbox.stack.faults import FaultInjector


@dataclass(frozen=True)
class AppliedFault:
    t_s: float  # seconds after the schedule started
    store: str
    action: str
    when: str  # as scheduled
    detail: str  # what was done, or why it failed


@dataclass
class FaultRun:
    history: OpHistory | None = None
    injector: FaultInjector | None = None
    applied: list[AppliedFault] = field(default_factory=list)
    checks: list[CheckReport] = field(default_factory=list)
    visibility: VisibilityProbe | None = None
    recovery: RecoveryWatch | None = None  # how each store came back from a fault schedule's outage
    background: list[asyncio.Task[None]] = field(default_factory=list)
    # False when another experiment shows the checks in a table of its own (durability: many trials).
    check_tables: bool = True

    @property
    def has_findings(self) -> bool:
        """Exit status 3: an order lost, divergent, failed-but-present or unexpected in any check."""
        return any(c.has_findings for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.history is not None:
            out["history"] = {"file": self.history.path.name, "operations": self.history.operations,
                              "write_outcomes": {s: self.history.outcomes.counts(s)
                                                 for s in self.history.outcomes.by_store}}
        if self.applied:
            out["faults"] = [vars(f) for f in self.applied]
        if self.recovery is not None and (recovery := self.recovery.to_json()):
            out["recovery"] = recovery
        if self.checks:
            out["check"] = {"has_findings": self.has_findings, "reports": [c.to_json() for c in self.checks]}
        if self.visibility is not None:
            out["visibility"] = {name: s.to_json() for name, s in self.visibility.stats.items()}
        return out


def fault_run(ctx: RunContext) -> FaultRun:
    return ctx.results.ensure(FaultRun)


def history_of(ctx: RunContext) -> OpHistory | None:
    """The run's operation history, when a `history` phase started one."""
    state = ctx.results.get(FaultRun)
    return state.history if state is not None else None
