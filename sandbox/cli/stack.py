"""`sandbox up | down | status`: the servers themselves."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from sandbox.cli.app import BackendOpt, ConfigOpt, InsecureOpt, StoresOpt, app, store_registry, warn_insecure, workspace
from sandbox.config import endpoint, ensure_env_file
from sandbox.errors import UsageError
from sandbox.report.console import console, print_status
from sandbox.stack import open_stack, recorded_backend, resolve_backend
from sandbox.stack.status import gather_status, replica_nodes, replica_status


@app.command()
def up(backend: BackendOpt = "auto", stores: StoresOpt = None, config: ConfigOpt = None,
       replicas: Annotated[int, typer.Option("--replicas", help="read replicas per store that has them on this "
                                             "backend (PostgreSQL standby, Redis replica)")] = 0,
       tls: Annotated[bool | None, typer.Option("--tls/--no-tls", help="serve TLS with certificates of a throwaway "
                                                "CA made in the state dir (native); the default URLs then verify "
                                                "them (default: as the stack last ran)")] = None) -> None:
    """Start the stores (Docker Compose where an engine answers, local processes elsewhere)."""
    ws = workspace()
    registry = store_registry(config)
    chosen = resolve_backend(backend, ws.state_dir)
    names = registry.parse(stores) if stores is not None else list(registry.started)
    stack = open_stack(chosen, ws, ensure_env_file(ws.env_file, registry.kinds.values()), registry)
    started = stack.up(names, replicas, tls)
    console.print(f"[bold]{chosen}[/] backend: started {', '.join(started) or 'nothing (already up)'}")
    if ca := registry.tls_stores(chosen, ws):
        verified = ", ".join(s for s in names if s in ca)
        console.print(f"  TLS: {verified} verify against the CA {next(iter(ca.values()))}", highlight=False)
        for line in stack.without_tls(names):
            console.print(f"  {line}", highlight=False)
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
    ws = workspace()
    chosen = recorded_backend(ws.state_dir) if backend == "auto" else resolve_backend(backend, ws.state_dir)
    if chosen is None and not purge:
        console.print("nothing to stop: no stack recorded in " + str(ws.state_dir))
        return
    # Nothing recorded but --purge: the native state dir may still hold data from earlier runs.
    registry = store_registry()
    stack = open_stack(chosen or "native", ws, ensure_env_file(ws.env_file, registry.kinds.values()), registry)
    stopped = stack.down(purge=purge)
    console.print(f"[bold]{chosen or 'native'}[/] backend: stopped {', '.join(stopped) or 'nothing'}"
                  + (", data deleted" if purge else ""))


@app.command()
def status(backend: BackendOpt = "auto", config: ConfigOpt = None, insecure: InsecureOpt = False) -> None:
    """Each store: backend, URL (password masked), the server's own name and version, reachable or not."""
    ws = workspace()
    chosen = resolve_backend(backend, ws.state_dir)
    registry = store_registry(config)
    settings = registry.settings(chosen, ws, config, insecure=insecure)
    warn_insecure(settings)
    pids = open_stack(chosen, ws, {}, registry).status()
    # The default set, and any other kind the stack runs (the brokers, started with `up --stores nats,rabbitmq`).
    shown = [*registry.started, *(n for n in registry.kinds if n not in registry.started and n in pids)]
    rows = asyncio.run(gather_status(settings, shown))
    rows += asyncio.run(replica_status(settings, ws, replica_nodes(settings, list(pids), list(registry.names))))
    print_status(chosen, rows, pids)
    for row in rows:  # what the event experiments need of a store beyond answering (PostgreSQL's WAL level, slots)
        part = registry.kind(row.store).roles.get("event_source")
        if row.reachable and part is not None and hasattr(part, "status"):
            try:
                console.print(f"  {row.store}: {asyncio.run(part.status(endpoint(settings, row.store).url))}")
            except Exception as exc:  # shown, not fatal: the store answered its own probe
                console.print(f"  {row.store}: change data capture unknown ({type(exc).__name__})")
    if down := [r.store for r in rows if not r.reachable]:
        raise UsageError(f"not reachable: {', '.join(down)} (start them with `sandbox up`, or fix their URLs)")
