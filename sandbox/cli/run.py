"""`sandbox scenarios | run | calibrate`: running scenarios and printing what they found."""

from __future__ import annotations

import secrets
import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

import typer

from sandbox.cli.app import (
    BackendOpt,
    ConfigOpt,
    InsecureOpt,
    OptionOpt,
    StoresOpt,
    app,
    config_options,
    experiment_registry,
    store_registry,
    warn_insecure,
    workspace,
)
from sandbox.cli.results import write_report_into
from sandbox.config import ensure_env_file
from sandbox.errors import UsageError
from sandbox.experiments.registry import Experiments
from sandbox.measure.stage_syntax import parse_stages
from sandbox.report import folder as rf
from sandbox.report.console import console, print_calibration
from sandbox.report.progress import RichProgress
from sandbox.report.results import write_results
from sandbox.report.server_stats import print_server_stats
from sandbox.report.tables import print_footer, print_run
from sandbox.report.trials import trial_dir, trials_terminal_table, write_trials_summary
from sandbox.scenario.context import RunContext
from sandbox.scenario.interrupt import Interrupted
from sandbox.scenario.runner import run_blocking, run_loop
from sandbox.scenario.spec import describe_all
from sandbox.scenario.spec import load as load_scenario
from sandbox.stack import open_stack, resolve_backend
from sandbox.stores.options import parse_pair
from sandbox.strategies.registry import STRATEGIES, strategy_names

DURATION_ORDER_CAP = 100_000_000


@app.command("scenarios")
def list_scenarios() -> None:
    """List the scenarios in scenarios/, one line each, and the write strategies they can compare."""
    for name, description in describe_all(workspace().project_dir):
        console.print(f"[bold]{name:<12}[/] {description}")
    console.print("\nwrite strategies (--strategies):")
    for strategy in STRATEGIES:
        console.print(f"  [bold]{strategy.name:<22}[/] {strategy.description}", highlight=False)


@app.command("options")
def list_options(config: ConfigOpt = None) -> None:
    """List every store option its kind declares (plugins too): -o STORE.OPTION=VALUE, the default, what it does."""
    for kind in store_registry(config).kinds.values():
        for o in kind.options:
            default = "off" if o.default is None else o.default
            console.print(f"[bold]{kind.name}.{o.name}[/]  {o.expected()} (default {default}): {o.help}",
                          highlight=False)


@app.command("run")
def run_scenario(
    name: Annotated[str, typer.Argument(help="scenario name (see `sandbox scenarios`)")],
    orders: Annotated[int | None, typer.Option("--orders", "--count", help="root instances to write to each store "
                                               "(orders, for the orders model)")] = None,
    model: Annotated[str | None, typer.Option(help="the domain model: a name (models/NAME.toml, `sandbox model "
                                              "list`) or a model file's path (default: the scenario's)")] = None,
    concurrency: Annotated[int | None, typer.Option(help="concurrent operations per store")] = None,
    batch: Annotated[int | None, typer.Option(help="root instances per write operation (1 = one at a time)")] = None,
    seed: Annotated[int | None, typer.Option(help="workload seed (default: random, printed and stored)")] = None,
    stores: StoresOpt = None,
    strategies: Annotated[str | None, typer.Option(help="comma-separated write strategies: " + ",".join(
        strategy_names()))] = None,
    keep: Annotated[bool, typer.Option("--keep", help="leave this run's data in the stores for inspection")] = False,
    option: OptionOpt = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="KEY=VALUE for the scenario's steps "
                                                    "that take KEY, e.g. -p store=mongo -p down_s=3")] = None,
    rate: Annotated[float | None, typer.Option(help="open loop: write operations per second per store "
                                               "(latency from each operation's intended start)")] = None,
    arrival: Annotated[str | None, typer.Option(help="open-loop arrivals: constant | poisson")] = None,
    warmup: Annotated[float | None, typer.Option(help="seconds of writing left out of the results")] = None,
    duration: Annotated[float | None, typer.Option(help="measured seconds of writing (default: until --orders "
                                                   "are written)")] = None,
    stages: Annotated[str | None, typer.Option(help="open-loop load shape from --rate as the base, e.g. "
                                               "'ramp:10s:200, hold:20s, spike:2s:x5, sine:60s:200:100:20s' "
                                               "(shapes ramp, step, hold, spike, sine; xN = N times --rate)")] = None,
    processes: Annotated[str | None, typer.Option(help="one | per-store (a worker process per store for the "
                                                  "write phase)")] = None,
    repeat: Annotated[int, typer.Option(help="run the scenario N times into one results folder (trials, for "
                                        "`sandbox compare`)")] = 1,
    wide: Annotated[bool, typer.Option("--wide", help="one latency table with every column, however wide")] = False,
    workers: Annotated[int | None, typer.Option(
        help="worker processes per store, each every N-th order (implies per-store; rate, concurrency split)")] = None,
    slo: Annotated[str | None, typer.Option(help="latency target of a capacity search, e.g. p99=50ms "
                                            "(scenario capacity)")] = None,
    backend: BackendOpt = "auto",
    config: ConfigOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Run a scenario; exit 0 when all stores hold the same data, 3 on a consistency finding."""
    if repeat < 1:
        raise UsageError(f"--repeat must be a positive whole number, got {repeat}")
    ws = workspace()
    chosen = resolve_backend(backend, ws.state_dir)
    registry = store_registry(config)
    experiments = experiment_registry(config)
    steps = experiments.steps()
    settings = registry.settings(chosen, ws, config, insecure=insecure)
    warn_insecure(settings)
    scenario = steps.override(load_scenario(ws.project_dir, name, set(steps)),
                              [*(param or []), *([f"slo={slo}"] if slo is not None else [])])
    # Store options: the config file's, then the scenario's, then -o (each checked by its kind at the run).
    chosen_options = {**config_options(config), **scenario.defaults.options,
                      **dict(parse_pair(pair) for pair in option or [])}
    given: dict[str, Any] = {
        "orders": orders, "model": model, "concurrency": concurrency, "batch": batch, "seed": seed,
        "options": chosen_options,
        "stores": tuple(registry.parse(stores)) if stores is not None else None, "keep": keep or None,
        "strategies": tuple(s.strip() for s in strategies.split(",") if s.strip()) if strategies else None,
        "rate": rate, "arrival": arrival, "warmup_s": warmup, "duration_s": duration, "processes": processes,
        "workers": workers, "stages": _stages(stages)}
    params = replace(scenario.defaults, **{k: v for k, v in given.items() if v is not None})
    mix = any(p.step == "load" for p in scenario.phases)
    if (duration is not None or params.stages) and orders is None and not mix:
        # The clock ends the run, not the order count (a mix's --orders is its data set: it stays).
        params = replace(params, orders=DURATION_ORDER_CAP)
    if params.seed is None and repeat > 1:  # every trial writes the same orders: trials differ by noise only
        params = replace(params, seed=secrets.randbelow(2**31))
    stack = open_stack(chosen, ws, ensure_env_file(ws.env_file, registry.kinds.values()), registry)
    folder = ws.results_dir / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{name}-x{repeat}" if repeat > 1 else None
    status = 0
    for trial in range(1, repeat + 1):
        if folder is not None:
            console.print(f"[bold]trial {trial} of {repeat}[/]")
        try:
            with RichProgress() as progress:
                ctx = run_blocking(scenario, params, settings, ws, chosen, stack, progress, steps,
                                   trial_dir(folder, trial) if folder is not None else None)
        except Interrupted as stopped:
            _interrupted(stopped, experiments)
        status = max(status, show_run(ctx, experiments, wide))
    if folder is not None:
        write_trials_summary(folder, repeat)
        console.print(trials_terminal_table(rf.load(folder)))
    write_report_into(folder or ctx.results_dir, experiments)
    if status:
        raise typer.Exit(status)


def _stages(text: str | None) -> tuple[Any, ...] | None:
    try:
        return parse_stages(text) if text is not None else None
    except UsageError as exc:
        raise UsageError(f"--stages: {exc}") from None


def show_run(ctx: RunContext, experiments: Experiments, wide: bool = False) -> int:
    """summary.json, then the tables: the run's own, each experiment's, the servers'; the exit status: 3 when
    an experiment found a consistency problem (read-back, fault check, update check, a strategy's promise, a
    schema a rollback did not restore, ...), else 0."""
    path = write_results(ctx, experiments)
    print_run(ctx, wide)
    shown = experiments.show(ctx)  # some findings are seen by the tables only (sharding, disk full)
    print_server_stats(ctx)
    print_footer(ctx)
    console.print(f"results: {path}")
    return 3 if shown or experiments.findings(ctx) else 0


def _interrupted(stopped: Interrupted, experiments: Experiments) -> NoReturn:
    """A run stopped by SIGINT / SIGTERM: what it did goes to summary.json, then exit 128 + the signal."""
    if stopped.ctx is not None:
        path = write_results(stopped.ctx, experiments)
        done, kept = ", ".join(stopped.ctx.completed_phases) or "(none)", stopped.ctx.params.keep
        print(f"{stopped}: after phases {done}; namespaces {'kept (--keep)' if kept else 'dropped'}; "
              f"what was done: {path}", file=sys.stderr)
    else:
        print(f"{stopped} before anything was written", file=sys.stderr)
    raise typer.Exit(stopped.exit_code)


@app.command()
def calibrate(
    ops: Annotated[int, typer.Option(help="write operations against the no-op store")] = 200_000,
    concurrency: Annotated[int, typer.Option(help="concurrent operations")] = 8,
    rate: Annotated[float | None, typer.Option(help="open loop at this rate (default: closed loop)")] = None,
    model: Annotated[str, typer.Option(help="the model whose root instances are generated")] = "orders",
) -> None:
    """Print the harness's own overhead per operation (no-op store, all three times recorded)."""
    from sandbox.measure.calibrate import measure_generation, measure_harness
    from sandbox.measure.load import LoadPlan
    from sandbox.workload import model_file

    if ops <= 0:
        raise UsageError(f"--ops must be a positive whole number, got {ops}")
    plan = LoadPlan(concurrency, rate).validated()
    loaded = model_file.load(model_file.find(workspace().project_dir, model))
    results = [run_loop(measure_harness(loaded, ops, plan, generate=False)),
               run_loop(measure_harness(loaded, min(ops, 20_000), plan, generate=True)),
               measure_generation(loaded, min(ops, 50_000))]
    print_calibration(results)
