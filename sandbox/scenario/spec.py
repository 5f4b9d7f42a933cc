"""Loading and validating scenario files (scenarios/NAME.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from sandbox.errors import UsageError
from sandbox.measure.load import LoadPlan
from sandbox.measure.stage_syntax import parse_stages
from sandbox.measure.stages import Stage
from sandbox.stores.options import flatten
from sandbox.stores.registry import StoreRegistry
from sandbox.strategies.registry import strategy_class

PROCESS_MODES = ("one", "per-store")


@dataclass(frozen=True)
class RunParams:
    """What a run does; scenario defaults, then command-line options."""

    orders: int = 3000  # root instances written (orders, for the orders model; --count is the same)
    model: str = "orders"  # a model name (models/NAME.toml) or a model file's path
    concurrency: int = 8
    batch: int = 1
    seed: int | None = None  # None: a fresh random seed, printed and stored with the results
    stores: tuple[str, ...] = ()  # () = every store kind of the default set
    keep: bool = False  # leave the run's data in place for inspection
    # Store options by <store>.<option> (-o redis.client=valkey-glide), each declared and checked by its kind.
    options: dict[str, Any] = field(default_factory=dict)
    op_timeout_s: float = 10.0
    # Milliseconds between root instances' spaced timestamps (analytics spreads orders over hours); None: the
    # model's own spacing.
    order_spacing_ms: int | None = None
    strategies: tuple[str, ...] = ()  # write strategies to compare (scenario `strategies` and its kin)
    # How the write phase issues load (see sandbox.measure.load and docs/measurement.md).
    rate: float | None = None  # open loop: operations per second per store; None: closed loop
    arrival: str = "constant"  # open loop arrivals: constant | poisson
    warmup_s: float = 0.0  # seconds at the start of the write phase left out of the results
    duration_s: float | None = None  # measured seconds of writing; None: until --orders are written
    processes: str = "one"  # one: all stores on one event loop | per-store: one worker process per store
    connect: bool = True  # false: the scenario needs no store connected (its steps open what they use)
    workers: int = 1  # above 1: that many worker processes per store, each every N-th order (implies per-store)
    # Open-loop stages (--stages "ramp:10s:200, spike:2s:x5", or a TOML list; sandbox.measure.stages): the
    # rate over time from --rate as the base; they set the load phases' length (the measured part: duration_s).
    stages: tuple[Stage, ...] = ()

    def load_plan(self) -> LoadPlan:
        return LoadPlan(self.concurrency, self.rate, self.arrival, self.warmup_s,  # type: ignore[arg-type]
                        self.duration_s, self.seed or 0, parse_stages(self.stages)).validated()

    def validated(self, registry: StoreRegistry | None = None) -> RunParams:
        if self.order_spacing_ms is not None and (not isinstance(self.order_spacing_ms, int)
                                                   or self.order_spacing_ms < 10):
            raise UsageError(f"order_spacing_ms must be a whole number >= 10, got {self.order_spacing_ms!r}")
        for name in ("orders", "concurrency", "batch"):
            if getattr(self, name) <= 0:
                raise UsageError(f"--{name} must be a positive whole number, got {getattr(self, name)}")
        if self.batch > 10_000:
            raise UsageError(f"--batch must be at most 10000, got {self.batch}")
        if self.seed is not None and not 0 <= self.seed < 2**63:
            raise UsageError(f"--seed must be a whole number from 0 to 2^63-1, got {self.seed}")
        if self.op_timeout_s <= 0:
            raise UsageError(f"op_timeout_s must be positive, got {self.op_timeout_s}")
        plan = self.load_plan()
        if self.processes not in PROCESS_MODES:
            raise UsageError(f"--processes must be one or per-store, got {self.processes!r}")
        if not 1 <= self.workers <= 64:
            raise UsageError(f"--workers must be a whole number from 1 to 64, got {self.workers}")
        registry = registry or StoreRegistry.built_in()
        stores = tuple(registry.parse(",".join(self.stores))) if self.stores else registry.names
        # The strategies' stores and source of truth are checked by the step that runs them (compare_strategies).
        return replace(self, stores=stores, options=registry.check_options(self.options), stages=plan.stages,
                       duration_s=plan.duration_s,
                       strategies=tuple(dict.fromkeys(strategy_class(s).name for s in self.strategies)))


@dataclass(frozen=True)
class Phase:
    step: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    defaults: RunParams
    phases: tuple[Phase, ...]


def scenario_dir(project_dir: Path) -> Path:
    return project_dir / "scenarios"


def available(project_dir: Path) -> list[Path]:
    return sorted(scenario_dir(project_dir).glob("*.toml"))


def load(project_dir: Path, name: str, known_steps: set[str]) -> Scenario:
    path = scenario_dir(project_dir) / f"{name}.toml"
    if not path.is_file():
        names = ", ".join(p.stem for p in available(project_dir)) or "none found"
        raise UsageError(f"unknown scenario {name!r}: choose from {names} (see `sandbox scenarios`)")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(raw) - {"description", "defaults", "phase"}
    if unknown:
        raise UsageError(f"{path}: unknown key {sorted(unknown)[0]!r}; expected description, defaults, [[phase]]")
    allowed = {f.name for f in fields(RunParams)}
    defaults = raw.get("defaults", {})
    if bad := set(defaults) - allowed:
        raise UsageError(f"{path}: unknown default {sorted(bad)[0]!r}; expected one of {', '.join(sorted(allowed))}")
    for key in ("stores", "strategies"):
        if key in defaults:
            defaults[key] = tuple(defaults[key])
    if "options" in defaults:
        defaults["options"] = flatten(defaults["options"], str(path))
    if "stages" in defaults:
        try:
            defaults["stages"] = parse_stages(defaults["stages"])
        except UsageError as exc:
            raise UsageError(f"{path}: [defaults] stages: {exc}") from None
    phases = []
    for i, entry in enumerate(raw.get("phase", []), 1):
        step = entry.get("step")
        if step not in known_steps:
            raise UsageError(f"{path}: phase {i} has unknown step {step!r}; steps: {', '.join(sorted(known_steps))}")
        phases.append(Phase(step, {k: v for k, v in entry.items() if k != "step"}))
    if not phases:
        raise UsageError(f"{path}: no [[phase]] entries")
    return Scenario(name, raw.get("description", ""), RunParams(**defaults), tuple(phases))


def describe_all(project_dir: Path) -> list[tuple[str, str]]:
    out = []
    for path in available(project_dir):
        try:
            description = tomllib.loads(path.read_text()).get("description", "")
        except tomllib.TOMLDecodeError:
            description = "(not valid TOML)"
        out.append((path.stem, description.strip().splitlines()[0] if description.strip() else ""))
    return out
