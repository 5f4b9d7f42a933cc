"""--processes per-store: the write phase with worker processes per store (one, or --workers N).

On one event loop the stores share one core's worth of client: a fast store's callbacks delay a slow
store's and the other way round. Here each store gets its own Python process (and its own uvloop):
the parent sends a job as JSON on the worker's stdin (never on the command line: it carries the
store URL and its password), the worker streams its per-second timeline rows back as JSON lines and
ends with its counts and its three histograms, HdrHistogram-encoded; the parent decodes and adds them
into the run's stats (an exact merge). Only the write phase runs this way; prepare, read and compare
stay in the parent.

With N workers per store, worker i writes orders i, i+N, ... (the stream once between them), at 1/N of
the rate and of the concurrency asked for, so the store gets the load the run names. They start
together: each connects, says it is ready, and waits for the parent's go, sent once all are ready.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict, dataclass, replace
from typing import Any

from sandbox.config import Endpoint
from sandbox.errors import SandboxError
from sandbox.measure.driver import LoadOutcome, write_everywhere
from sandbox.measure.latency import OpStats, decode, encode
from sandbox.measure.load import LoadPlan, gather_all
from sandbox.measure.progress import SILENT
from sandbox.measure.timeline import Timeline
from sandbox.measure.timing import TimedStore


@dataclass(frozen=True)
class WriteJob:
    """The write phase, as every worker gets it (each adds its own store's endpoint and namespace)."""

    seed: int
    orders: int
    batch: int
    op_timeout_s: float
    plan: LoadPlan
    worker: int = 0  # this worker's index among `workers` per store
    workers: int = 1
    spacing_ms: int | None = None  # the root's spacing when the run sets one (Sizes.spacing_ms)
    model: str = ""  # the model file's path

    def share(self, worker: int) -> WriteJob:
        """Worker `worker`'s job: its part of the concurrency and the rate (a different Poisson seed each)."""
        n = self.workers
        plan = replace(self.plan.scaled(1 / n), concurrency=max(1, self.plan.concurrency // n),
                       seed=self.plan.seed + worker)
        return replace(self, plan=plan, worker=worker)


def stats_to_wire(stats: OpStats) -> dict[str, Any]:
    stats.flush()
    return {"ok": stats.ok, "failed": stats.failed, "unknown": stats.unknown, "items": stats.items,
            "warmup": stats.warmup, "warmup_errors": stats.warmup_errors, "first_errors": stats.first_errors,
            "response": encode(stats.response), "service": encode(stats.service),
            "processing": encode(stats.processing), "failed_response": encode(stats.failed_response),
            "unknown_response": encode(stats.unknown_response)}


def stats_from_wire(doc: dict[str, Any]) -> OpStats:
    return OpStats(decode(doc["response"]), decode(doc["service"]), decode(doc["processing"]),
                   decode(doc["failed_response"]), decode(doc["unknown_response"]), ok=doc["ok"],
                   failed=doc["failed"], unknown=doc["unknown"], items=doc["items"], warmup=doc["warmup"],
                   warmup_errors=doc["warmup_errors"], first_errors=list(doc["first_errors"]))


async def _one_worker(ts: TimedStore, job: WriteJob, timeline: Timeline, ready: asyncio.Barrier) -> LoadOutcome:
    # The worker builds the same store from its kind (plugins load from the same environment) and options.
    message_in = {"store": ts.store.name, "endpoint": asdict(ts.store.endpoint), "namespace": ts.store.namespace,
                  "options": ts.store.made_with, "job": asdict(job)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox.measure.processes", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, limit=2**24)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(json.dumps(message_in).encode() + b"\n")
    final: dict[str, Any] | None = None
    try:
        async for line in proc.stdout:
            message = json.loads(line)
            if "row" in message:
                timeline.add_row(message["row"])
            elif "ready" in message:
                await ready.wait()  # every worker of every store connected: go, together
                timeline.schedule_starts()
                proc.stdin.write(b"go\n")
                proc.stdin.close()
            else:
                final = message["result"]
        err = (await proc.stderr.read()).decode(errors="replace").strip()
        await proc.wait()
    except BaseException:
        if proc.returncode is None:
            proc.kill()  # our own child, by its handle
            await proc.wait()
        raise
    if final is None:
        await ready.abort()  # the others must not wait for this one
        last = err.splitlines()[-1] if err else f"exit status {proc.returncode}"
        raise SandboxError(f"the {ts.name} worker process failed: {last}"[:300])
    ts.op("write").merge(stats_from_wire(final["stats"]))  # the worker's histograms, added exactly
    return LoadOutcome.from_json(final["outcome"])


async def write_in_processes(stores: list[TimedStore], job: WriteJob, timeline: Timeline) -> dict[str, LoadOutcome]:
    """The write phase with job.workers processes per store; returns each store's LoadOutcome."""
    timeline.local = False  # the rows come from the workers
    ready = asyncio.Barrier(len(stores) * job.workers)
    runs = [(ts, _one_worker(ts, job.share(i), timeline, ready)) for ts in stores for i in range(job.workers)]
    outcomes = await gather_all(*(run for _, run in runs))
    merged: dict[str, LoadOutcome] = {}
    for (ts, _), outcome in zip(runs, outcomes, strict=True):
        merged[ts.name] = _add(merged[ts.name], outcome) if ts.name in merged else outcome
    return merged


def _add(a: LoadOutcome, b: LoadOutcome) -> LoadOutcome:
    """Two workers of one store: orders sent and rates add up; they started together, so the phase took the
    longer time; CPU and schedule lag shown are the busier worker's."""
    clients = [c for c in (a.client, b.client) if c is not None]
    client = max(clients, key=lambda c: c.cpu) if clients else None
    if client is not None:
        def total(rates: list[float | None]) -> float | None:
            return None if None in rates else sum(r for r in rates if r is not None)
        client = replace(client, processes=sum(c.processes for c in clients), missed=sum(c.missed for c in clients),
                         target_rate=total([c.target_rate for c in clients]),
                         started_rate=total([c.started_rate for c in clients]))
    return LoadOutcome(max(a.elapsed_s, b.elapsed_s), client, (a.sent or 0) + (b.sent or 0))


async def _worker(message: dict[str, Any]) -> None:
    """Inside the worker process: connect, write under the plan, report."""
    import os
    from pathlib import Path

    from sandbox.stores.registry import StoreRegistry
    from sandbox.workload.dataset import Dataset, Sizes
    from sandbox.workload.model_file import load

    def emit(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    job = WriteJob(**{**message["job"], "plan": LoadPlan(**message["job"]["plan"])})
    model = load(Path(job.model))
    kind = StoreRegistry.load(os.environ).kind(message["store"])
    assert kind.model_store is not None
    store = kind.model_store(Endpoint(**message["endpoint"]), message["namespace"], model, message["options"])
    store.name = message["store"]
    await store.connect()
    try:
        emit({"ready": True})
        if sys.stdin.readline().strip() != "go":  # the parent gave up on the run
            return
        ts = TimedStore(store, job.op_timeout_s, entity=model.root, key=model.root_entity.key)
        timeline = Timeline("write", None, SILENT, sink=lambda row: emit({"row": row}))
        timeline.watch(store.name, "write", ts.op("write"))
        dataset = Dataset(model, job.seed, Sizes(job.orders, spacing_ms=job.spacing_ms))
        async with timeline:
            outcomes = await write_everywhere([ts], dataset,
                                              job.plan.concurrency, job.batch, plan=job.plan,
                                              share=(job.worker, job.workers))
        outcome = outcomes[store.name]
        if outcome.client is not None:
            outcome.client.processes = 1
        emit({"result": {"outcome": outcome.to_json(), "stats": stats_to_wire(ts.op("write"))}})
    finally:
        await store.close()  # never teardown: the namespace is the parent's


def main() -> None:
    message = json.loads(sys.stdin.readline())
    try:
        import uvloop
        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_worker(message))


if __name__ == "__main__":
    main()
