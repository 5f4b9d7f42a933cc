"""The isolation step: every store of the run that has multi-key transactions (contract.TransactionalWorkload)
runs the same seeded transactions on a small, hot key space at each of its levels, concurrently; each level's
history is checked (measure/isolation) and written in Elle's EDN format into the results folder
(isolation/<store>-<level>.edn) for elle-cli. A store without them is left out with its own reason.

A level whose promise forbids a class the checker found is a finding (exit 3). Works in each store's own
isolation namespace (created and dropped here), independent of `prepare`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.isolation.drive import drive
from sandbox.experiments.isolation.result import IsolationRuns, broken
from sandbox.measure.isolation import MODELS, check, edn
from sandbox.measure.isolation.workload import TxnGenerator, TxnSpec
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, with_defaults
from sandbox.stores.contract import NotAnswerable, TransactionalWorkload


def _file_name(store: str, level: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in f"{store}-{level}") + ".edn"


async def isolation(ctx: RunContext, model: str = "list-append", txns: int = 2000, keys: int = 4,
                    max_ops: int = 4, concurrency: int = 8, timeout_s: float = 5.0) -> None:
    """Run and check `txns` transactions per store and level."""
    result = ctx.results.ensure(IsolationRuns)
    spec = TxnSpec(model=model, keys=keys, max_ops=max_ops)
    seed = ctx.params.seed or 0
    result.workload = {"model": model, "txns": txns, "keys": keys, "max_ops": max_ops, "concurrency": concurrency,
                       "seed": seed}
    folder = ctx.results_dir / "isolation"
    for name, ts in ctx.stores.items():
        store = ts.store
        offered = store.transactions() if isinstance(store, TransactionalWorkload) else \
            NotAnswerable("its adapter offers no transactions (contract.TransactionalWorkload)")
        if isinstance(offered, NotAnswerable):
            result.left_out[name] = offered.reason
            continue
        for level, promise in offered.levels.items():
            ctx.progress.note(f"isolation: {name} at {level}, {txns:,} transactions")
            await offered.setup()  # a fresh namespace per level: the same seeded values, unique per history
            try:
                driven = await drive(offered, level, TxnGenerator(spec, seed), txns, concurrency, timeout_s)
            finally:
                await offered.drop()
            checked = await asyncio.to_thread(check, driven.history, model)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / _file_name(name, level)
            await asyncio.to_thread(edn.dump, driven.history, path)
            result.rows.append(_row(name, str(ctx.servers.get(name, "")), level, promise, offered.where,
                                    checked.to_dict(), driven.seconds, driven.errors, path.name))


def _row(store: str, server: str, level: str, promise: str, where: str, checked: dict[str, Any], seconds: float,
         errors: dict[str, int], edn_file: str) -> dict[str, Any]:
    anomalies: dict[str, int] = checked["anomalies"]
    examples = {k: (v[0].get("cycle") or v[0].get("text")) for k, v in checked["examples"].items() if v}
    txns = checked["txns"]
    return {"store": store, "server": server, "level": level, "promise": promise, "namespace": where,
            "txns": txns, "anomalies": anomalies, "broken": broken(promise, anomalies), "examples": examples,
            "seconds": round(seconds, 3), "ok_per_s": txns["ok"] / seconds if seconds else 0.0,
            "attempts_per_s": txns["total"] / seconds if seconds else 0.0, "errors": errors, "edn": edn_file,
            "graph": checked["graph"]}


def _validate(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(isolation, params)
    if given["model"] not in MODELS:
        raise UsageError(f"isolation: model must be one of {', '.join(MODELS)}, got {given['model']!r}")
    for key in ("txns", "keys", "max_ops", "concurrency"):
        v = given[key]
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise UsageError(f"isolation: {key} must be a whole number >= 1, got {v!r}")
    t = given["timeout_s"]
    if isinstance(t, bool) or not isinstance(t, int | float) or t <= 0:
        raise UsageError(f"isolation: timeout_s must be a positive number of seconds, got {t!r}")


STEPS = {"isolation": StepSpec(isolation, _validate)}
