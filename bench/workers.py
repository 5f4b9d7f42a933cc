"""(e) Load workers: the same orders written by 1 and by 2 `sandbox worker` processes per store, merged.

Each configuration gets a fresh namespace (prepared here, dropped afterwards), its workers start
together (a common start time after their imports), and the throughput is the merged ok writes over
the slowest worker's measured time. On a machine with few cores the workers, the harness of the
others and the store's server compete for the same CPUs: the row says how many there are.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.repeats import Samples, alternate
from sandbox.measure.workers.merge import merge
from sandbox.stores import make_model_store
from sandbox.stores.connect import prepare_all
from sandbox.stores.registry import registry_of
from sandbox.workload import model_file
from sandbox.workload.dataset import Dataset, Sizes

MODEL = Path(__file__).resolve().parent.parent / "models" / "orders.toml"

START_MARGIN_S = 6.0  # imports and connects of every worker fit in this on a busy 2-core machine


async def _one(settings: Any, store_name: str, seed: int, orders: int, workers: int, concurrency: int,
               servers: dict[str, str]) -> float:
    namespace = f"sbx_bench_w{os.getpid()}_{int(time.time() * 1000) % 10**9}"
    model = model_file.load(MODEL)
    store = make_model_store(settings, store_name, namespace, model, 2)
    await store.connect()
    try:
        await prepare_all([store], Dataset(model, seed, Sizes(orders)), namespace.removeprefix("sbx_"),
                          registry_of(settings), [])
        with tempfile.TemporaryDirectory() as tmp:
            spec = Path(tmp) / "run.toml"
            spec.write_text(f'seed = {seed}\norders = {orders}\nworkers = {workers}\nnamespace = "{namespace}"\n'
                            f'stores = ["{store_name}"]\nout = "{tmp}/out"\nconcurrency = {concurrency}\n'
                            f'model = "{MODEL}"\n')
            env = {**os.environ, "SANDBOX_WORKER_START_AT": str(time.time() + START_MARGIN_S)}
            procs = [subprocess.Popen([sys.executable, "-m", "sandbox", "worker", "--spec", str(spec),
                                       "--backend", "native"], env={**env, "SANDBOX_WORKER_INDEX": str(i)},
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for i in range(workers)]
            for proc in procs:
                out, err = proc.communicate()
                if proc.returncode != 0:
                    raise SystemExit(f"bench worker failed: {(err or out).strip()[-300:]}")
            summary = merge([Path(tmp) / "out"], Path(tmp) / "merged")
        servers[store_name] = summary["workers"][0]["servers"][store_name]
        written = summary["stores"][store_name]
        if written["operations"]["write"]["ok"] != orders:
            raise SystemExit(f"bench workers wrote {written['operations']['write']['ok']} of {orders} orders")
        return float(written["throughput_orders_s"])
    finally:
        try:
            await store.teardown()
        finally:
            await store.close()


async def bench(settings: Any, store_name: str, seed: int, orders: int, concurrency: int = 8
                ) -> tuple[dict[str, Samples], str]:
    """Orders/s with "1" and with "2" worker processes, each repeated in alternating order; and the server."""
    servers: dict[str, str] = {}

    def side(workers: int) -> Callable[[], Awaitable[float]]:
        return lambda: _one(settings, store_name, seed, orders, workers, concurrency, servers)

    return await alternate({"1": side(1), "2": side(2)}), servers[store_name]
