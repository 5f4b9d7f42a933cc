"""The results folder of a run: summary.json with everything needed to compare or reproduce it."""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Protocol

import psutil

from sandbox.measure.driver import LoadOutcome
from sandbox.measure.latency import OpStats
from sandbox.scenario.context import RunContext
from sandbox.stores.registry import StoreRegistry, registry_of
from sandbox.stores.tls import tls_states, tls_warnings
from sandbox.workload.schema import Model

HARNESS_LIBRARIES = ("aiohttp", "hdrhistogram", "uvloop", "matplotlib")  # each store kind names its own clients


def client_versions(registry: StoreRegistry) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    libraries = [lib for kind in registry.kinds.values() for lib in kind.client_libraries]
    for name in dict.fromkeys([*libraries, *HARNESS_LIBRARIES]):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def reproduce_command(argv: list[str], seed: int | None) -> str:
    """The command line of this run, with the seed it drew when none was given."""
    args = ["sandbox", *argv[1:]]
    if seed is not None and "--seed" not in args and args[1:2] == ["run"]:
        args += ["--seed", str(seed)]
    return shlex.join(args)


def environment(seed: int | None, registry: StoreRegistry) -> dict[str, Any]:
    """What the report's manifest needs to reproduce the run and judge its numbers."""
    return {"command": reproduce_command(sys.argv, seed), "cores": os.cpu_count(),
            "memory_bytes": psutil.virtual_memory().total, "os": platform.platform(),
            "python": sys.version.split()[0], "libraries": client_versions(registry)}


class SummaryParts(Protocol):
    """What the experiments add to summary.json (the CLI passes the registered ones)."""

    def summary(self, ctx: RunContext) -> dict[str, Any]: ...

    def store_summary(self, ctx: RunContext, store: str) -> dict[str, Any]: ...


def summary(ctx: RunContext, parts: SummaryParts) -> dict[str, Any]:
    params = asdict(ctx.params)
    params["stores"] = list(ctx.params.stores)
    stores: dict[str, Any] = {}
    for name, ts in ctx.stores.items():
        stores[name] = {
            "server": {"product": ctx.servers[name].product, "version": ctx.servers[name].version,
                       "detail": ctx.servers[name].detail, "settings": ctx.server_settings.get(name) or {}},
            "endpoint": ctx.endpoints[name],
            "design": ts.store.describe(),  # the physical design derived from the model (`sandbox model show`)
            "money": ts.store.money,
            "operations": {op: _operation(stats, ctx.loads.get(name, {}).get(op)) for op, stats in ts.stats.items()},
            # per phase: the server's own count of statements / commands / requests over its logical operations
            "server_calls_per_op": ctx.server_stats.calls_per_op().get(name, {}),
            **parts.store_summary(ctx, name),  # read_not_found, consistency (the core experiment's)
        }
    tls = tls_states(ctx.settings, ctx.stores)
    out = {
        "run_id": ctx.run_id, "scenario": ctx.scenario.name, "backend": ctx.backend, "seed": ctx.params.seed,
        "params": params, "phases": [p.step for p in ctx.scenario.phases], "model": model_summary(ctx.model),
        # A run stopped by a signal: which, and the phases it finished (the counts below are what it did).
        "interrupted": ctx.interrupted is not None, "interrupted_by": ctx.interrupted,
        "completed_phases": ctx.completed_phases,
        "client": {"python": sys.version.split()[0], "platform": platform.platform(),
                   "libraries": client_versions(registry_of(ctx.settings))},
        "environment": environment(ctx.params.seed, registry_of(ctx.settings)),
        "stores": stores, "notes": [*tls_warnings(tls), *ctx.notes],
        # Per store: TLS verified, not verified (--insecure, or as its URL asks) or off, and the CA file it checks.
        "tls": tls,
        # Store results the client could not measure faithfully (saturated CPU, behind its schedule).
        "measurement_flags": {name: {op: load.client.flags for op, load in ctx.loads.get(name, {}).items()
                                     if load.client and load.client.flags} for name in ctx.stores},
        "server_stats": ctx.server_stats.to_json(client_writes(ctx)),
        "timeline_csv": "timeline.csv" if (ctx.results_dir / "timeline.csv").exists() else None,
    }
    # Each experiment's keys (consistent, strategies, replicas, analytics, cache_aside, history, faults, check,
    # visibility, durability, mix, migration, experiments): at None when it did not run.
    for key, value in parts.summary(ctx).items():
        if key in out:
            raise ValueError(f"an experiment writes summary key {key!r}, which the run itself writes")
        out[key] = value
    return out


def model_summary(model: Model) -> dict[str, Any]:
    """Which model the run wrote: enough to read the tables (the root, its stored fields) and find the file."""
    root = model.root_entity
    return {"name": model.name, "path": model.path, "root": root.name, "key": root.key,
            "fields": [f.name for f in root.stored_fields], "children": [c.name for c in root.children]}


def _operation(stats: OpStats, load: LoadOutcome | None) -> dict[str, Any]:
    """The histograms TimedStore recorded, with the phase's wall time and client load from its driver."""
    if load is None:
        return stats.to_json()
    return stats.to_json(load.elapsed_s, load.client.to_json() if load.client else None)


def client_writes(ctx: RunContext) -> dict[str, int]:
    """Orders each store acknowledged per the client (warm-up operations included: the server saw them)."""
    out = {}
    for name, ts in ctx.stores.items():
        if "write" in ts.stats:
            stats = ts.stats["write"]
            out[name] = stats.items + stats.warmup * ctx.params.batch
    return out


def write_results(ctx: RunContext, parts: SummaryParts) -> Path:
    ctx.results_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.results_dir / "summary.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(summary(ctx, parts), indent=2, default=str))
    tmp.replace(path)  # never a half-written summary
    return path
