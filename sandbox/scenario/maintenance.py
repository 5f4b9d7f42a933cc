"""Commands on a kept run's namespace outside a scenario: migrate it, and read the servers' statistics.

Both open model stores (stores/contract.py) of a model (the orders model unless told: the migration files are
written for its design) on the namespace, and create nothing there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sandbox.config import Settings
from sandbox.errors import UsageError
from sandbox.measure.server_snapshots import snapshot_all
from sandbox.stores import make_model_store
from sandbox.stores import migrations as mig
from sandbox.stores.connect import close_all, connect_all
from sandbox.stores.contract import ModelStore
from sandbox.stores.server_stats import ServerStats
from sandbox.workload.schema import Model

NAMESPACE = re.compile(r"^sbx_[a-z0-9_]+$")
ACTIONS = ("up", "down", "status")


@dataclass(frozen=True)
class MigrationStatus:
    store: str
    version: int
    available: list[str]  # every migration file, in order
    applied_now: list[str]  # what this command applied (up or down)


def check_namespace(namespace: str) -> str:
    if not NAMESPACE.match(namespace):
        raise UsageError(f"--namespace {namespace!r}: the sandbox only works in its own namespaces (sbx_<run id>, "
                         "as a --keep run prints)")
    return namespace


async def _open(settings: Settings, names: list[str], namespace: str, model: Model) -> list[ModelStore]:
    stores = [make_model_store(settings, name, namespace, model, 2) for name in names]
    await connect_all(stores)
    return stores


async def migrate_namespace(settings: Settings, names: list[str], namespace: str, action: str, to: int | None,
                            lock_timeout_ms: int | None, model: Model) -> list[MigrationStatus]:
    if action not in ACTIONS:
        raise UsageError(f"migrate {action!r}: choose up, down or status")
    stores = await _open(settings, names, check_namespace(namespace), model)
    out = []
    try:
        for store in stores:
            applied: list[mig.Migration] = []
            if action != "status":
                applied = await mig.migrate(store, action, to, lock_timeout_ms)  # type: ignore[arg-type]
            version, available = await mig.status(store)
            out.append(MigrationStatus(store.name, version, [f"{m}: {m.summary}" for m in available],
                                       [str(m) for m in applied]))
    finally:
        await close_all(stores, keep=True, notes=[])
    return out


async def live_stats(settings: Settings, names: list[str], namespace: str, model: Model) -> dict[str, dict[str, Any]]:
    """Each server's statistics now: counters since the server started, gauges as they are."""
    stores = await _open(settings, names, check_namespace(namespace), model)
    try:
        snaps = await snapshot_all(stores)
    finally:
        await close_all(stores, keep=True, notes=[])
    return {name: s.since(ServerStats(s.source)) for name, s in snaps.items()}
