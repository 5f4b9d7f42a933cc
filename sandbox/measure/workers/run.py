"""One load worker: write its share of the order stream to the spec's stores and leave the evidence.

<out>/worker-<i>/ gets worker.json (who, where, when, clock offset, counts), stats.json (the three
HdrHistograms per store, encoded: what `sandbox merge` adds up), timeline.csv and hlog/*.hlog (the
per-second interval logs) and history.jsonl (every operation, Jepsen-style). The namespace must exist already:
`prepare_namespace` makes it, once, before the workers start.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from sandbox.config import Settings, mask
from sandbox.measure.driver import write_everywhere
from sandbox.measure.history import OpHistory
from sandbox.measure.load import LoadPlan
from sandbox.measure.processes import stats_to_wire
from sandbox.measure.progress import SILENT
from sandbox.measure.timeline import Timeline
from sandbox.measure.timing import TimedStore
from sandbox.measure.workers.clock import measure_offset
from sandbox.measure.workers.spec import WorkerSpec
from sandbox.stores import make_model_store
from sandbox.stores.connect import close_all, connect_all, prepare_all
from sandbox.stores.contract import ModelStore
from sandbox.stores.registry import registry_of
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import load

FORMAT = "sandbox-worker/1"


def _dataset(spec: WorkerSpec, settings: Settings) -> Dataset:
    return Dataset(load(Path(spec.model), registry_of(settings).kinds), spec.seed, Sizes(spec.orders))


def _stores(spec: WorkerSpec, settings: Settings, dataset: Dataset) -> list[ModelStore]:
    return [make_model_store(settings, name, spec.namespace, dataset.model, spec.concurrency, spec.options)
            for name in spec.stores]


async def prepare_namespace(spec: WorkerSpec, settings: Settings) -> None:
    """Create the run's namespace, design and reference data in every store, once, for all workers (kept)."""
    dataset = _dataset(spec, settings)
    stores = _stores(spec, settings, dataset)
    await connect_all(stores)
    try:
        await prepare_all(stores, dataset, spec.namespace.removeprefix("sbx_"), registry_of(settings), [])
    finally:
        await close_all(stores, keep=True, notes=[])


async def run_worker(spec: WorkerSpec, settings: Settings) -> Path:
    """Wait for the common start, write this worker's share to every store at once, write the folder."""
    assert isinstance(spec.index, int)
    folder = spec.folder()
    if folder.exists():
        raise FileExistsError(f"{folder} exists already: each worker writes a fresh folder")
    dataset = _dataset(spec, settings)
    stores = _stores(spec, settings, dataset)
    servers = await connect_all(stores)
    try:
        kinds = registry_of(settings)
        offset = await measure_offset([s.endpoint for s in stores], {s.name: kinds.kind(s.name).clock for s in stores})
        if spec.start_at is not None:
            await asyncio.sleep(max(0.0, spec.start_at - time.time()))
        folder.mkdir(parents=True)
        began = time.time()
        history = OpHistory(folder / "history.jsonl")
        root = dataset.model.root_entity
        timed = [TimedStore(s, spec.op_timeout_s, [history.listener], root.name, root.key) for s in stores]
        timeline = Timeline("write", folder / "timeline.csv", SILENT)
        for ts in timed:
            timeline.watch(ts.name, "write", ts.op("write"))
        plan = LoadPlan(spec.concurrency, spec.rate).validated()
        dataset.root(0)  # the reference data, made before the clock starts
        try:
            async with timeline:
                outcomes = await write_everywhere(timed, dataset, plan.concurrency, spec.batch, plan=plan,
                                                  share=(spec.index, spec.workers))
            # per store: sent, elapsed_s, client (CPU, lag)
            loads = {ts.name: outcomes[ts.name].to_json() for ts in timed}
        finally:
            history.close()
    finally:
        await close_all(stores, keep=True, notes=[])  # never teardown: the namespace is the run's
    doc: dict[str, Any] = {
        "format": FORMAT, "host": socket.gethostname(), "pid": os.getpid(),
        "index": spec.index, "workers": spec.workers, "seed": spec.seed, "orders": spec.orders,
        "namespace": spec.namespace, "stores": spec.stores, "batch": spec.batch, "concurrency": spec.concurrency,
        "rate": spec.rate, "start_at": spec.start_at, "began": began,
        "start_lag_s": None if spec.start_at is None else round(began - spec.start_at, 6),
        "clock": offset.to_json() if offset else None,
        "servers": {name: str(info) for name, info in servers.items()},
        "endpoints": {s.name: mask(s.endpoint.url) for s in stores},
        "sent": {name: load["sent"] for name, load in loads.items()},
        "loads": loads,
    }
    (folder / "stats.json").write_text(json.dumps({ts.name: stats_to_wire(ts.op("write")) for ts in timed}))
    # worker.json last: its presence says the folder is complete.
    (folder / "worker.json").write_text(json.dumps(doc, indent=2))
    return folder
