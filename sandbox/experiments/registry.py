"""The experiments a run may use: the built-in list below, plus plugins named in configuration. Built
explicitly (Experiments.load) and passed along by the CLI: no global list to mutate."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.config import (
    EXPERIMENT_PLUGINS_ENV,
    EXPERIMENT_PLUGINS_KEY,
    import_plugin,
    plugin_refs,
    read_config_file,
)
from sandbox.errors import UsageError
from sandbox.experiments.base import Experiment
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext
from sandbox.scenario.step import Steps

# The order is the terminal's and the report's. Adding an experiment: its folder and one line here.
BUILT_IN = ("orders", "strategies", "faults", "durability", "exhaustion", "replicas", "analytics", "cache_aside",
            "migrations", "mixes", "sharding", "network", "events", "backups", "footprint", "isolation")


@dataclass(frozen=True)
class Experiments:
    registered: tuple[Experiment[Any], ...]

    @classmethod
    def built_in(cls) -> Experiments:
        return cls.of(importlib.import_module(f"sandbox.experiments.{name}").EXPERIMENT for name in BUILT_IN)

    @classmethod
    def of(cls, experiments: Iterable[Experiment[Any]]) -> Experiments:
        chosen = tuple(experiments)
        names = [e.name for e in chosen]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise UsageError(f"experiment {dupes[0]!r} is registered twice: rename the plugin")
        steps = [s for e in chosen for s in e.steps]
        if dupes := sorted({s for s in steps if steps.count(s) > 1}):
            raise UsageError(f"step {dupes[0]!r} is offered by two experiments: rename one")
        return cls(chosen)

    @classmethod
    def load(cls, environ: Mapping[str, str], config_file: Path | None = None) -> Experiments:
        """The built-in experiments plus those SANDBOX_EXPERIMENT_PLUGINS and the config file name."""
        refs = plugin_refs(environ, read_config_file(config_file), EXPERIMENT_PLUGINS_KEY, EXPERIMENT_PLUGINS_ENV)
        return cls.of([*cls.built_in().registered, *(_import(ref) for ref in refs)])

    def steps(self) -> Steps:
        return Steps({name: spec for e in self.registered for name, spec in e.steps.items()})

    def _kept(self, ctx: RunContext) -> Iterable[tuple[Experiment[Any], Any]]:
        for experiment in self.registered:
            if (result := ctx.results.get(experiment.result)) is not None:
                yield experiment, result

    # -- a live run ----------------------------------------------------------------------------------
    def summary(self, ctx: RunContext) -> dict[str, Any]:
        """Every experiment's keys of summary.json; one that did not run says so with its keys at None."""
        out: dict[str, Any] = {}
        for experiment in self.registered:
            merge(out, experiment.summary(ctx.results.get(experiment.result)), experiment.name)
        return out

    def store_summary(self, ctx: RunContext, store: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for experiment in self.registered:
            merge(out, experiment.store_summary(ctx.results.get(experiment.result), store), experiment.name)
        return out

    def show(self, ctx: RunContext) -> list[str]:
        """Every experiment's tables, in order; the findings only the tables saw."""
        return [f for experiment, result in self._kept(ctx) for f in experiment.show(ctx, result)]

    def findings(self, ctx: RunContext) -> list[str]:
        return [f for experiment, result in self._kept(ctx) for f in experiment.findings(result)]

    # -- a results folder ----------------------------------------------------------------------------
    def sections(self, summary: dict[str, Any], draw: Draw | None) -> list[str]:
        return [html for e in self.registered if (html := e.render(summary, draw))]

    def states(self, summary: dict[str, Any]) -> list[tuple[str, str]]:
        return [s for e in self.registered for s in e.states(summary)]

    def matrix(self, summary: dict[str, Any], run_id: str) -> list[tuple[str, str, str]]:
        return [cell for e in self.registered for cell in e.matrix(summary, run_id)]

    def injected_faults(self, summary: dict[str, Any]) -> bool:
        return any(e.injected_faults(summary) for e in self.registered)


def merge(out: dict[str, Any], part: Mapping[str, Any], who: str) -> None:
    """One experiment's summary keys into the summary; nested tables (`experiments`) are shared, and a key at
    None (an experiment that did not run) gives way to one with a value."""
    for key, value in part.items():
        if key in out and isinstance(out[key], dict) and isinstance(value, dict):
            merge(out[key], value, who)
        elif key in out and (value is None or out[key] is None):
            out[key] = out[key] if value is None else value
        elif key in out:
            raise ValueError(f"experiment {who} writes summary key {key!r}, which another experiment wrote")
        else:
            out[key] = value


def _import(ref: str) -> Experiment[Any]:
    return import_plugin(ref, "experiment", Experiment, "mypkg.footprint:EXPERIMENT")
