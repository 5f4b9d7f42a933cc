"""`sandbox gc | migrate | stats`: what a run left behind, schema versions, the servers' own counters."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from sandbox.cli.app import BackendOpt, ConfigOpt, InsecureOpt, StoresOpt, app, resolved_settings, workspace
from sandbox.report.console import console
from sandbox.report.gc import print_gc
from sandbox.scenario.runner import run_loop
from sandbox.stores.gc import collect, parse_age
from sandbox.stores.registry import StoreRegistry
from sandbox.workload.schema import Model

ModelOpt = Annotated[str, typer.Option(help="the model whose design the namespace holds: a name (models/NAME.toml) "
                                            "or a model file's path (the migration files are the orders model's)")]


def _model(name: str, registry: StoreRegistry) -> Model:
    from sandbox.workload import model_file

    return model_file.load(model_file.find(workspace().project_dir, name), registry.kinds)


@app.command()
def gc(older_than: Annotated[str, typer.Option(help="only namespaces created at least this long ago (90s, 30m, "
                                               "1h, 2d)")] = "1h",
       yes: Annotated[bool, typer.Option("--yes", help="drop them (default: list only)")] = False,
       stores: StoresOpt = None, backend: BackendOpt = "auto", config: ConfigOpt = None,
       insecure: InsecureOpt = False) -> None:
    """List namespaces left behind by killed runs on every store; with --yes drop them (marked ones only)."""
    age = parse_age(older_than)
    registry, settings = resolved_settings(backend, config, insecure)
    names = registry.parse(stores)
    print_gc(asyncio.run(collect(settings, names, age, drop=yes)), dropping=yes)


@app.command()
def migrate(
    action: Annotated[str, typer.Argument(help="up | down | status")],
    namespace: Annotated[str, typer.Option(help="the run's namespace, sbx_<run id> (keep a run with --keep)")],
    to: Annotated[int | None, typer.Option(help="the version to reach (default: all the way up, or down to 0)")]
        = None,
    stores: Annotated[str | None, typer.Option("--stores", help="comma-separated store names (default: the "
                                                                "first of the default set)")] = None,
    lock_timeout_ms: Annotated[int | None, typer.Option(help="PostgreSQL lock_timeout for the DDL")] = None,
    model: ModelOpt = "orders",
    backend: BackendOpt = "auto",
    config: ConfigOpt = None,
) -> None:
    """Apply or roll back the stores' migrations (stores/<name>/migrations/) in a kept run's namespace."""
    from sandbox.scenario.maintenance import migrate_namespace

    registry, settings = resolved_settings(backend, config)
    names = registry.parse(stores) if stores is not None else list(registry.names[:1])  # the first: PostgreSQL
    loaded = _model(model, registry)
    for row in run_loop(migrate_namespace(settings, names, namespace, action, to, lock_timeout_ms, loaded)):
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
    model: ModelOpt = "orders",
    backend: BackendOpt = "auto",
    config: ConfigOpt = None,
) -> None:
    """Each server's own statistics now (counters since it started); what it cannot answer is listed."""
    from sandbox.report.server_stats import headline_table, print_statements
    from sandbox.scenario.maintenance import live_stats

    registry, settings = resolved_settings(backend, config)
    names = registry.parse(stores)
    now = run_loop(live_stats(settings, names, namespace, _model(model, registry)))
    console.print(headline_table("server statistics now (counters since each server started)", now))
    for name, doc in now.items():
        if doc.get("top_statements"):
            print_statements(f"{name}: top statements by total time (pg_stat_statements)", doc["top_statements"])
