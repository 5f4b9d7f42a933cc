"""What an experiment is: the steps it adds, the result it keeps in `ctx.results`, and how that result is
shown (terminal, report.html), summed up (summary.json), compared and judged (exit status 3)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sandbox.report.page import Draw, render_section
from sandbox.scenario.context import RunContext
from sandbox.scenario.step import StepSpec


class Summable(Protocol):
    def to_json(self) -> Any: ...


R = TypeVar("R", bound=Summable)


class Experiment(Generic[R]):
    """Subclass per experiment folder; every method has a default, so an experiment overrides what it has."""

    name: ClassVar[str]  # its key in summary.json (unless summary() says otherwise)
    result: type[R]  # the class of the value its steps keep in ctx.results
    steps: ClassVar[Mapping[str, StepSpec]] = {}
    template: ClassVar[str | None] = None  # its report section: a Jinja2 template in its folder
    folder: ClassVar[Path | None] = None  # where the template lives (Path(__file__).parent of its __init__)

    # -- from a live run ---------------------------------------------------------------------------
    def summary(self, result: R | None) -> dict[str, Any]:
        """Its part of summary.json: top-level keys (the shape older folders have); None: it did not run."""
        return {self.name: None if result is None else result.to_json()}

    def store_summary(self, result: R | None, store: str) -> dict[str, Any]:
        """Keys it adds to one store's entry of summary.json (None: it did not run)."""
        return {}

    def findings(self, result: R) -> list[str]:
        """Consistency findings (the run exits 3): lost, divergent, inconsistent, a broken promise."""
        return []

    def show(self, ctx: RunContext, result: R) -> list[str]:
        """Print its tables on the terminal; return findings seen only there (most return [])."""
        return []

    # -- from summary.json (report.html, compare, recommend: older folders too) ---------------------
    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        """What its template needs (tables, figures drawn with `draw`, None: no figures), or None: nothing."""
        return None

    def render(self, summary: dict[str, Any], draw: Draw | None) -> str:
        values = self.section(summary, draw)
        if values is None or self.template is None or self.folder is None:
            return ""
        return render_section(self.folder, self.template, values)

    def states(self, summary: dict[str, Any]) -> list[tuple[str, str]]:
        """(store, what its checks said) for `sandbox compare`, which lists what differs first."""
        return []

    def matrix(self, summary: dict[str, Any], run_id: str) -> list[tuple[str, str, str]]:
        """(store, criterion, text) cells for `sandbox recommend`'s selection matrix."""
        return []

    def injected_faults(self, summary: dict[str, Any]) -> bool:
        """Whether the run disturbed the stores on purpose (recommend prefers undisturbed runs' latency)."""
        return False
