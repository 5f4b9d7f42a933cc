"""The `sandbox` command: bring stores up and down, list and run scenarios.

Every failure the user can fix ends as one line on stderr and exit status 2 (see sandbox.errors);
a consistency finding in a run ends with exit status 3.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from sandbox.config import Workspace, ensure_env_file
from sandbox.errors import SandboxError, UsageError
from sandbox.report import folder as rf
from sandbox.report.console import console, print_calibration, print_status
from sandbox.report.faults import print_faults
from sandbox.report.gc import print_gc
from sandbox.report.migrations import print_migrations
from sandbox.report.mix import print_mix
from sandbox.report.partitioning import print_partitioning
from sandbox.report.progress import RichProgress
from sandbox.report.reads import print_reads
from sandbox.report.replicas import print_replicas
from sandbox.report.reshard import print_reshard
from sandbox.report.results import write_results
from sandbox.report.routing import print_routing
from sandbox.report.server_stats import print_server_stats
from sandbox.report.sharding import print_sharding
from sandbox.report.tables import print_run
from sandbox.report.trials import trial_dir, trials_terminal_table, write_trials_summary
from sandbox.scenario.context import RunContext
from sandbox.scenario.interrupt import Interrupted
from sandbox.scenario.runner import run_blocking, run_loop
from sandbox.scenario.spec import describe_all
from sandbox.scenario.spec import load as load_scenario
from sandbox.scenario.step_registry import STEPS, override_params
from sandbox.stack import open_stack, recorded_backend, resolve_backend
from sandbox.stack.status import gather_status, replica_nodes, replica_status
from sandbox.stores.gc import collect, parse_age
from sandbox.stores.registry import StoreRegistry
from sandbox.strategies.registry import STRATEGIES, strategy_names

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Polyglot persistence sandbox: one order workload, five stores, compared side by side.")

BackendOpt = Annotated[str, typer.Option("--backend", help="auto | docker | native")]
StoresOpt = Annotated[str | None, typer.Option("--stores", help="comma-separated store names (default: all; "
                                                               "`sandbox status` lists them)")]
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML file with store URLs (beats SANDBOX_*)")]


DURATION_ORDER_CAP = 100_000_000


def _workspace() -> Workspace:
    return Workspace.from_env(dict(os.environ))


def _registry(config: Path | None = None) -> StoreRegistry:
    """The built-in store kinds plus plugins (SANDBOX_STORE_PLUGINS, the config file's store_plugins)."""
    return StoreRegistry.load(os.environ, config)


@app.command()
def up(backend: BackendOpt = "auto", stores: StoresOpt = None, config: ConfigOpt = None,
       replicas: Annotated[int, typer.Option("--replicas", help="read replicas per store that has them on this "
                                             "backend (PostgreSQL standby, Redis replica)")] = 0) -> None:
    """Start the stores (Docker Compose where an engine answers, local processes elsewhere)."""
    ws = _workspace()
    registry = _registry(config)
    chosen = resolve_backend(backend, ws.state_dir)
    names = registry.parse(stores) if stores is not None else list(registry.names)
    stack = open_stack(chosen, ws, ensure_env_file(ws.env_file, registry.kinds.values()), registry)
    started = stack.up(names, replicas)
    console.print(f"[bold]{chosen}[/] backend: started {', '.join(started) or 'nothing (already up)'}")
    if replicas:
        for name in names:
            rep = registry.kind(name).replication
            if rep is None or not rep.available_on(chosen):
                note = f"; {rep.backends_note}" if rep is not None and rep.backends_note else ""
                console.print(f"  {name}: no replicas on this backend ({chosen}){note}")


@app.command()
def down(backend: BackendOpt = "auto",
         purge: Annotated[bool, typer.Option("--purge", help="also delete the stores' data (native state "
                                                              "dir, or the compose volumes)")] = False) -> None:
    """Stop exactly the servers the sandbox started (by recorded PID, or the compose project)."""
    ws = _workspace()
    chosen = recorded_backend(ws.state_dir) if backend == "auto" else resolve_backend(backend, ws.state_dir)
    if chosen is None and not purge:
        console.print("nothing to stop: no stack recorded in " + str(ws.state_dir))
        return
    # Nothing recorded but --purge: the native state dir may still hold data from earlier runs.
    registry = _registry()
    stack = open_stack(chosen or "native", ws, ensure_env_file(ws.env_file, registry.kinds.values()), registry)
    stopped = stack.down(purge=purge)
    console.print(f"[bold]{chosen or 'native'}[/] backend: stopped {', '.join(stopped) or 'nothing'}"
                  + (", data deleted" if purge else ""))


@app.command()
def status(backend: BackendOpt = "auto", config: ConfigOpt = None) -> None:
    """Each store: backend, URL (password masked), the server's own name and version, reachable or not."""
    ws = _workspace()
    chosen = resolve_backend(backend, ws.state_dir)
    registry = _registry(config)
    settings = registry.settings(chosen, ws, config)
    pids = open_stack(chosen, ws, {}, registry).status()
    rows = asyncio.run(gather_status(settings, list(registry.names)))
    rows += asyncio.run(replica_status(settings, ws, replica_nodes(settings, list(pids), list(registry.names))))
    print_status(chosen, rows, pids)
    if down := [r.store for r in rows if not r.reachable]:
        raise UsageError(f"not reachable: {', '.join(down)} (start them with `sandbox up`, or fix their URLs)")


@app.command("scenarios")
def list_scenarios() -> None:
    """List the scenarios in scenarios/, one line each, and the write strategies they can compare."""
    for name, description in describe_all(_workspace().project_dir):
        console.print(f"[bold]{name:<12}[/] {description}")
    console.print("\nwrite strategies (--strategies):")
    for strategy in STRATEGIES:
        console.print(f"  [bold]{strategy.name:<22}[/] {strategy.description}", highlight=False)


@app.command("run")
def run_scenario(
    name: Annotated[str, typer.Argument(help="scenario name (see `sandbox scenarios`)")],
    orders: Annotated[int | None, typer.Option(help="orders to write to each store")] = None,
    concurrency: Annotated[int | None, typer.Option(help="concurrent operations per store")] = None,
    batch: Annotated[int | None, typer.Option(help="orders per write operation (1 = one at a time)")] = None,
    seed: Annotated[int | None, typer.Option(help="workload seed (default: random, printed and stored)")] = None,
    stores: StoresOpt = None,
    strategies: Annotated[str | None, typer.Option(help="comma-separated write strategies: " + ",".join(
        strategy_names()))] = None,
    keep: Annotated[bool, typer.Option("--keep", help="leave this run's data in the stores for inspection")] = False,
    es_refresh: Annotated[str | None, typer.Option(help="Elasticsearch refresh on write: false|wait_for|true")] = None,
    redis_ttl: Annotated[int | None, typer.Option(help="expire Redis order hashes after N s, as a cache")] = None,
    redis_client: Annotated[str | None, typer.Option(help="Redis client library: redis-py | valkey-glide")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="KEY=VALUE for the scenario's steps "
                                                    "that take KEY, e.g. -p store=mongo -p down_s=3")] = None,
    rate: Annotated[float | None, typer.Option(help="open loop: write operations per second per store "
                                               "(latency from each operation's intended start)")] = None,
    arrival: Annotated[str | None, typer.Option(help="open-loop arrivals: constant | poisson")] = None,
    warmup: Annotated[float | None, typer.Option(help="seconds of writing left out of the results")] = None,
    duration: Annotated[float | None, typer.Option(help="measured seconds of writing (default: until --orders "
                                                   "are written)")] = None,
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
) -> None:
    """Run a scenario; exit 0 when all stores hold the same data, 3 on a consistency finding."""
    if repeat < 1:
        raise UsageError(f"--repeat must be a positive whole number, got {repeat}")
    ws = _workspace()
    chosen = resolve_backend(backend, ws.state_dir)
    registry = _registry(config)
    settings = registry.settings(chosen, ws, config)
    scenario = override_params(load_scenario(ws.project_dir, name, set(STEPS)),
                               [*(param or []), *([f"slo={slo}"] if slo is not None else [])])
    given: dict[str, Any] = {
        "orders": orders, "concurrency": concurrency, "batch": batch, "seed": seed, "es_refresh": es_refresh,
        "redis_ttl_s": redis_ttl, "redis_client": redis_client,
        "stores": tuple(registry.parse(stores)) if stores is not None else None, "keep": keep or None,
        "strategies": tuple(s.strip() for s in strategies.split(",") if s.strip()) if strategies else None,
        "rate": rate, "arrival": arrival, "warmup_s": warmup, "duration_s": duration, "processes": processes,
        "workers": workers}
    if duration is not None and orders is None and not any(p.step == "load" for p in scenario.phases):
        # The clock ends the run, not the order count (a mix's --orders is its data set: it stays).
        given["orders"] = DURATION_ORDER_CAP
    params = replace(scenario.defaults, **{k: v for k, v in given.items() if v is not None})
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
                ctx = run_blocking(scenario, params, settings, ws, chosen, stack, progress,
                                   trial_dir(folder, trial) if folder is not None else None)
        except Interrupted as stopped:
            _interrupted(stopped)
        path = write_results(ctx)
        print_run(ctx, wide)
        print_faults(ctx)
        print_replicas(ctx)
        print_reads(ctx)
        print_migrations(ctx)
        print_server_stats(ctx)
        print_mix(ctx)
        experiment_findings = [finding for show in EXPERIMENTS for finding in show(ctx)]
        console.print(f"results: {path}")
        status = max(status, _run_status(ctx), 3 if experiment_findings else 0)
    if folder is not None:
        write_trials_summary(folder, repeat)
        console.print(trials_terminal_table(rf.load(folder)))
    _write_report(folder or ctx.results_dir)
    if status:
        raise typer.Exit(status)


# Steps with an experiment of their own (ctx.experiments): each prints it and returns its findings (exit 3).
EXPERIMENTS = (print_sharding, print_reshard, print_partitioning, print_routing)


def _interrupted(stopped: Interrupted) -> NoReturn:
    """A run stopped by SIGINT / SIGTERM: what it did goes to summary.json, then exit 128 + the signal."""
    if stopped.ctx is not None:
        path = write_results(stopped.ctx)
        done, kept = ", ".join(stopped.ctx.completed_phases) or "(none)", stopped.ctx.params.keep
        print(f"{stopped}: after phases {done}; namespaces {'kept (--keep)' if kept else 'dropped'}; "
              f"what was done: {path}", file=sys.stderr)
    else:
        print(f"{stopped} before anything was written", file=sys.stderr)
    raise typer.Exit(stopped.exit_code)


def _run_status(ctx: RunContext) -> int:
    """3 when the run found a consistency problem (read-back, fault check, update check, a strategy's promise, or a
    schema that a rollback did not restore)."""
    if ctx.comparisons and not all(c.consistent for c in ctx.comparisons.values()):
        return 3
    if ctx.faults is not None and ctx.faults.has_findings:
        return 3
    if ctx.analytics is not None and ctx.analytics.findings:
        return 3
    if ctx.migrations is not None and ctx.migrations.finding:
        return 3
    if ctx.mix is not None and ctx.mix.has_findings:  # a lost update, an impossible state, wrong stock
        return 3
    return 3 if any(outcome.finding for outcome in ctx.strategies) else 0


def _write_report(path: Path) -> None:
    from sandbox.report.html import write_report  # matplotlib: imported only when a report is drawn

    console.print(f"report: {write_report(path)}")


@app.command("report")
def report(results: Annotated[Path, typer.Argument(help="a results folder (results/<time>-<scenario>)")]) -> None:
    """Write (or rewrite) report.html and its PNG plots in a results folder, older ones included."""
    rf.load(results)  # one clear line when it is not a results folder
    _write_report(results)


@app.command("compare")
def compare(
    baseline: Annotated[Path, typer.Argument(help="results folder to compare against")],
    contenders: Annotated[list[Path] | None, typer.Argument(help="results folders compared with the baseline")] = None,
    stores: Annotated[str | None, typer.Option(help="A,B: compare store B against store A within BASELINE")] = None,
    noise: Annotated[float, typer.Option(help="noise band in %: smaller differences get no verdict")] = 5.0,
    out: Annotated[Path | None, typer.Option(help="folder for compare.html / compare.json (default: the first "
                                             "contender's, or BASELINE's with --stores)")] = None,
) -> None:
    """Per store and operation: baseline, contender, % difference, 95% bootstrap CI over trials, verdict."""
    from sandbox.report.compare import compare as compare_sides
    from sandbox.report.compare import side
    from sandbox.report.compare_view import Shown, print_comparisons, write_outputs

    if noise < 0:
        raise UsageError(f"--noise must be a percentage >= 0, got {noise}")
    base = rf.load(baseline)
    if stores is not None:
        if contenders:
            raise UsageError("--stores compares two stores within one folder: pass only BASELINE")
        pair = [s.strip() for s in stores.split(",") if s.strip()]
        known = {store for t in base.trials for store, _ in t.operations()}
        if len(pair) != 2 or not set(pair) <= known:
            raise UsageError(f"--stores needs two of the folder's stores, A,B (it has {', '.join(sorted(known))})")
        label = ""  # the rows are one store's against the other's: the title names both
        comparisons = [compare_sides(side(base, pair[0], label), side(base, pair[1], label), noise)]
        shown = [Shown(pair[0], base, pair[0]), Shown(pair[1], base, pair[1])]
        target = out or baseline
    else:
        if not contenders:
            raise UsageError("compare needs a CONTENDER folder (or --stores A,B with one folder)")
        folders = [rf.load(c) for c in contenders]
        comparisons = [compare_sides(side(base), side(f), noise) for f in folders]
        shown = [Shown(f"baseline {base.label}", base), *(Shown(f.label, f) for f in folders)]
        target = out or contenders[0]
    print_comparisons(comparisons)
    page, data = write_outputs(target, comparisons, shown)
    console.print(f"compare: {page}  {data}")


@app.command("recommend")
def recommend(results: Annotated[Path | None, typer.Option(help="folder of results folders (default: the "
                                                           "workspace's results/)")] = None) -> None:
    """The technology selection matrix, every cell filled from measured runs (run id named) or 'not measured'."""
    from sandbox.report.recommend import print_matrix

    print_matrix(results or _workspace().results_dir)


@app.command()
def gc(older_than: Annotated[str, typer.Option(help="only namespaces created at least this long ago (90s, 30m, "
                                               "1h, 2d)")] = "1h",
       yes: Annotated[bool, typer.Option("--yes", help="drop them (default: list only)")] = False,
       stores: StoresOpt = None, backend: BackendOpt = "auto", config: ConfigOpt = None) -> None:
    """List namespaces left behind by killed runs on every store; with --yes drop them (marked ones only)."""
    age = parse_age(older_than)
    ws = _workspace()
    registry = _registry(config)
    settings = registry.settings(resolve_backend(backend, ws.state_dir), ws, config)
    names = registry.parse(stores) if stores is not None else list(registry.names)
    print_gc(asyncio.run(collect(settings, names, age, drop=yes)), dropping=yes)


@app.command()
def calibrate(
    ops: Annotated[int, typer.Option(help="write operations against the no-op store")] = 200_000,
    concurrency: Annotated[int, typer.Option(help="concurrent operations")] = 8,
    rate: Annotated[float | None, typer.Option(help="open loop at this rate (default: closed loop)")] = None,
) -> None:
    """Print the harness's own overhead per operation (no-op store, all three times recorded)."""
    from sandbox.measure.calibrate import measure_generation, measure_harness
    from sandbox.measure.load import LoadPlan

    if ops <= 0:
        raise UsageError(f"--ops must be a positive whole number, got {ops}")
    plan = LoadPlan(concurrency, rate).validated()
    results = [run_loop(measure_harness(ops, plan, generate=False)),
               run_loop(measure_harness(min(ops, 20_000), plan, generate=True)),
               measure_generation(min(ops, 50_000))]
    print_calibration(results)


@app.command("worker")
def worker(
    spec: Annotated[Path | None, typer.Option("--spec", help="TOML run spec (else SANDBOX_WORKER_* variables)")] = None,
    prepare: Annotated[bool, typer.Option("--prepare", help="create the namespace and catalog once, then exit")]
    = False,
    backend: BackendOpt = "auto",
) -> None:
    """Run one load worker: its share (every N-th order) of the seeded stream, results to <out>/worker-<i>/."""
    from sandbox.measure.workers.run import prepare_namespace, run_worker
    from sandbox.measure.workers.spec import claim_index, load_spec

    ws = _workspace()
    run_spec = load_spec(spec, dict(os.environ))
    registry = _registry(spec)
    registry.parse(",".join(run_spec.stores))  # unknown names: one line, exit 2
    settings = registry.settings(resolve_backend(backend, ws.state_dir), ws, spec)
    if prepare:
        run_loop(prepare_namespace(run_spec, settings))
        console.print(f"prepared {run_spec.namespace} in {', '.join(run_spec.stores)}")
        return
    run_spec.index = claim_index(run_spec)
    try:
        folder = run_loop(run_worker(run_spec, settings))
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    console.print(f"worker {run_spec.index} of {run_spec.workers}: results in {folder}")


@app.command("merge")
def merge_workers(
    folders: Annotated[list[Path], typer.Argument(help="worker folders (<out>/worker-<i>)")],
    out: Annotated[Path, typer.Option("--out", help="the merged results folder (new or empty)")],
) -> None:
    """Merge load workers' folders exactly (histograms added, histories on one clock) into one results folder."""
    from sandbox.measure.workers.merge import merge

    summary = merge(folders, out)
    for name, store in summary["stores"].items():
        write = store["operations"]["write"]
        console.print(f"{name}: {write['ok']:,} ok writes from {summary['merged_workers']} workers, "
                      f"p50 {write['latency_ms']['p50']} ms, p99 {write['latency_ms']['p99']} ms")
    console.print(f"merged into {out}")


@app.command()
def migrate(
    action: Annotated[str, typer.Argument(help="up | down | status")],
    namespace: Annotated[str, typer.Option(help="the run's namespace, sbx_<run id> (keep a run with --keep)")],
    to: Annotated[int | None, typer.Option(help="the version to reach (default: all the way up, or down to 0)")]
        = None,
    stores: StoresOpt = None,
    lock_timeout_ms: Annotated[int | None, typer.Option(help="PostgreSQL lock_timeout for the DDL")] = None,
    backend: BackendOpt = "auto",
    config: ConfigOpt = None,
) -> None:
    """Apply or roll back the stores' migrations (stores/<name>/migrations/) in a kept run's namespace."""
    from sandbox.scenario.maintenance import migrate_namespace

    ws = _workspace()
    registry = _registry(config)
    settings = registry.settings(resolve_backend(backend, ws.state_dir), ws, config)
    names = registry.parse(stores) if stores is not None else ["postgres"]
    for row in run_loop(migrate_namespace(settings, names, namespace, action, to, lock_timeout_ms)):
        done = f"; applied {action}: {', '.join(row.applied_now)}" if row.applied_now else ""
        console.print(f"[bold]{row.store}[/] {namespace}: version {row.version} of {len(row.available)}{done}",
                      highlight=False)
        if action == "status":
            for i, line in enumerate(row.available, start=1):
                console.print(f"  {'*' if i <= row.version else ' '} {line}", highlight=False)


@app.command()
def stats(
    stores: StoresOpt = None,
    namespace: Annotated[str, typer.Option(help="a kept run's namespace, for its per-table/index figures")]
        = "sbx_live_stats",
    backend: BackendOpt = "auto",
    config: ConfigOpt = None,
) -> None:
    """Each server's own statistics now (counters since it started); what it cannot answer is listed."""
    from sandbox.report.server_stats import headline_table, print_statements
    from sandbox.scenario.maintenance import live_stats

    ws = _workspace()
    registry = _registry(config)
    settings = registry.settings(resolve_backend(backend, ws.state_dir), ws, config)
    names = registry.parse(stores) if stores is not None else list(registry.names)
    now = run_loop(live_stats(settings, names, namespace))
    console.print(headline_table("server statistics now (counters since each server started)", now))
    for name, doc in now.items():
        if doc.get("top_statements"):
            print_statements(f"{name}: top statements by total time (pg_stat_statements)", doc["top_statements"])


def main() -> None:
    """Entry point: one line and a status code for every error the user can act on."""
    # While a store is down on purpose, asyncpg's pool logs a traceback per reconnect attempt; the
    # operations' outcomes are counted and reported already.
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)
    try:
        status = app(standalone_mode=False)  # typer.Exit(n) comes back as n in this mode
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except typer.TyperException as exc:  # the command line itself is wrong (bad option, bad value)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":
            print(message, file=sys.stderr)
        else:
            print(f"error: {message.splitlines()[0] if message else type(exc).__name__} (see --help)", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:
        if os.environ.get("SANDBOX_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {str(exc)[:300]} (SANDBOX_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)
