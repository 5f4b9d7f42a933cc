"""Services that talk through events: database per service, a real broker, the outbox beside change data capture,
and every event accounted for (scenarios events, cdc-vs-outbox, events-faults, shared-database; docs/events.md)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from sandbox.experiments.base import Experiment
from sandbox.experiments.events import faults, section, shared, steps
from sandbox.experiments.events.result import EventsRun
from sandbox.experiments.events.table import print_events
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext
from sandbox.scenario.step import StepSpec


class Events(Experiment[EventsRun]):
    name = "events"
    result = EventsRun
    steps: ClassVar[Mapping[str, StepSpec]] = {**steps.STEPS, **faults.STEPS, **shared.STEPS}
    template, folder = "section.html.j2", Path(__file__).parent

    def findings(self, result: EventsRun) -> list[str]:
        return [f for t in result.trials for f in t.findings]

    def show(self, ctx: RunContext, result: EventsRun) -> list[str]:
        print_events(result)
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        return section.events(summary, draw)

    def injected_faults(self, summary: dict[str, Any]) -> bool:
        return any(t.get("faults") for t in (summary.get("events") or {}).get("trials", []))


EXPERIMENT = Events()
