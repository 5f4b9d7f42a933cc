"""An experiment defined here, in the test, and registered beside the built-in ones with no other edit: its
step runs in a scenario, its result lands in summary.json under its name, its section in report.html,
its table on the terminal, and its finding sets the exit status to 3."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sandbox.cli.run import show_run
from sandbox.config import Settings, Workspace
from sandbox.errors import UsageError
from sandbox.experiments.base import Experiment
from sandbox.experiments.registry import Experiments
from sandbox.measure.progress import Silent
from sandbox.report.console import console
from sandbox.report.html import write_report
from sandbox.report.page import Draw
from sandbox.report.table_data import TableData
from sandbox.scenario.context import RunContext
from sandbox.scenario.runner import run_blocking
from sandbox.scenario.spec import Phase, RunParams, Scenario
from sandbox.scenario.step import StepSpec
from sandbox.stack import open_stack
from tests.helpers import BUILT_IN

pytestmark = pytest.mark.stores("redis")


@dataclass
class Tally:
    held: dict[str, int] = field(default_factory=dict)  # store -> orders it held after the writes
    expected: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"held": self.held, "expected": self.expected}


async def tally(ctx: RunContext, expect: int) -> None:
    """Count the orders each store holds (its scan), against what the test says it should."""
    result = ctx.results.ensure(Tally)
    result.expected = expect
    for name, ts in ctx.stores.items():
        result.held[name] = sum([1 async for _ in ts.store.scan(ctx.model.root)])


class TallyExperiment(Experiment[Tally]):
    name = "tally"
    result = Tally
    steps = {"tally": StepSpec(tally)}  # noqa: RUF012 (the class's own, never changed)
    template, folder = "tally.html.j2", Path(__file__).parent / "templates"

    def findings(self, result: Tally) -> list[str]:
        return [f"{name} holds {n}" for name, n in result.held.items() if n != result.expected]

    def show(self, ctx: RunContext, result: Tally) -> list[str]:
        console.print(f"tally: {result.held}")
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        if not (got := summary.get("tally")):
            return None
        table = TableData("tally", "orders each store held", ["store", "held"])
        for name, n in got["held"].items():
            table.add(name, n)
        return {"tally": table}


EXPERIMENT = TallyExperiment()


def run_tally(expect: int, tmp_path: Path, workspace: Workspace, settings: Settings) -> tuple[int, Path]:
    experiments = Experiments.of([*Experiments.built_in().registered, EXPERIMENT])
    phases = (Phase("prepare"), Phase("write"), Phase("tally", {"expect": expect}))
    scenario = Scenario("tally", "", RunParams(), phases)
    ctx = run_blocking(scenario, RunParams(orders=20, stores=("redis",), seed=1), settings, workspace, "native",
                       open_stack("native", workspace, {}, BUILT_IN), Silent(), experiments.steps(),
                       tmp_path / f"run-{expect}")
    status = show_run(ctx, experiments)
    write_report(ctx.results_dir, experiments, experiments)
    return status, ctx.results_dir


def test_an_experiment_defined_here_runs_reports_and_sets_the_exit_status(
        tmp_path: Path, workspace: Workspace, live: Settings) -> None:
    status, folder = run_tally(20, tmp_path, workspace, live)
    summary = json.loads((folder / "summary.json").read_text())
    assert status == 0 and summary["tally"] == {"held": {"redis": 20}, "expected": 20}
    assert summary["consistent"] is None and summary["strategies"] is None  # the built-in ones: not run
    page = (folder / "report.html").read_text()
    assert 'id="table-tally"' in page and "an experiment defined in a test" in page

    status, folder = run_tally(21, tmp_path, workspace, live)  # a store holding other than expected: exit 3
    assert status == 3


def test_a_plugin_experiment_is_loaded_from_configuration_and_its_step_is_offered() -> None:
    loaded = Experiments.load({"SANDBOX_EXPERIMENT_PLUGINS": "tests.test_experiment_plugin:EXPERIMENT"})
    assert loaded.registered[-1].name == "tally" and "tally" in loaded.steps()
    with pytest.raises(UsageError, match=r"expected a sandbox\.experiments\.base\.Experiment"):
        Experiments.load({"SANDBOX_EXPERIMENT_PLUGINS": "tests.test_experiment_plugin:Tally"})
    with pytest.raises(UsageError, match="offered by two experiments"):
        Experiments.of([*Experiments.built_in().registered, EXPERIMENT, type("Again", (TallyExperiment,),
                                                                             {"name": "again"})()])
