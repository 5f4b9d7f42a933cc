"""`sandbox worker | merge`: load workers on several processes or machines, merged exactly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from sandbox.cli.app import BackendOpt, app, store_registry, workspace
from sandbox.errors import UsageError
from sandbox.report.console import console
from sandbox.scenario.runner import run_loop
from sandbox.stack import resolve_backend
from sandbox.stores.options import flatten


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

    ws = workspace()
    run_spec = load_spec(spec, dict(os.environ))
    registry = store_registry(spec)
    registry.parse(",".join(run_spec.stores))  # unknown names: one line, exit 2
    run_spec.options = registry.check_options(flatten(run_spec.options, "options"))  # bad ones too
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
