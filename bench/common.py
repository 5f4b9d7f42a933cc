"""What every benchmark shares: the result row, running a native tool, timing the sandbox path, store setup."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.measure.load import LoadPlan, drive
from sandbox.measure.timing import TimedStore
from sandbox.stores import make_store
from sandbox.stores.base import Store

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class Row:
    bench: str
    sandbox: float | None  # ops (or orders) per second
    native: float | None
    unit: str
    target: float | None  # ratio goal
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.sandbox / self.native if self.sandbox and self.native else None


def tool(name: str) -> str:
    found = shutil.which(name) or (str(PG_BIN / name) if (PG_BIN / name).exists() else None)
    if found is None:
        raise SystemExit(f"bench needs {name}: install redis-tools / postgresql-client-15 / curl")
    return found


def run_tool(args: list[str], env: dict[str, str] | None = None, stdin: Path | None = None) -> tuple[float, str]:
    """Run a native tool; returns (wall seconds, stdout). Fails loudly on a non-zero exit."""
    full_env = {**os.environ, **(env or {})}
    start = time.perf_counter()
    if stdin is None:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=full_env)
    else:
        with stdin.open("rb") as f:
            done = subprocess.run(args, stdin=f, capture_output=True, text=True, env=full_env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{Path(args[0]).name} failed: {done.stderr.strip()[:300]}")
    return seconds, done.stdout


async def timed_drive(ts: TimedStore, work: Any, fn: Callable[[Any], Awaitable[object]], plan: LoadPlan) -> float:
    """Ops/s of `fn(item)` through the timing wrapper (all three times recorded) under `plan`."""
    async def do(item: Any, intended_ns: int, begun_ns: int) -> None:
        await ts.call("op", lambda: fn(item), (), intended_ns, begun_ns)

    result = await drive(work, do, plan)
    stats = ts.op("op")
    stats.flush()
    if stats.failed or stats.unknown:
        raise SystemExit(f"{ts.name}: {stats.failed + stats.unknown} operations failed: {stats.first_errors}")
    return stats.ok / result.measured_s


async def open_store(name: str, settings: Any, namespace: str, connections: int, catalog: Any) -> Store:
    store = make_store(settings, name, namespace, connections)
    await store.connect()
    await store.prepare(catalog)
    return store


async def close_store(store: Store) -> None:
    try:
        await store.teardown()
    finally:
        await store.close()


def run_id() -> str:
    return f"sbx_bench_{os.getpid()}_{int(time.time())}"
