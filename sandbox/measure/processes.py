"""--processes per-store: the write phase with one worker process per store.

On one event loop the stores share one core's worth of client: a fast store's callbacks delay a slow
store's and the other way round. Here each store gets its own Python process (and its own uvloop):
the parent sends a job as JSON on the worker's stdin (never on the command line: it carries the
store URL and its password), the worker streams its per-second timeline rows back as JSON lines and
ends with its counts and its three histograms, HdrHistogram-encoded; the parent decodes and adds them
into the run's stats (an exact merge). Only the write phase runs this way; prepare, read and compare
stay in the parent.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.config import Endpoint
from sandbox.errors import SandboxError
from sandbox.measure.driver import LoadOutcome, write_everywhere
from sandbox.measure.latency import OpStats, decode, encode
from sandbox.measure.load import LoadPlan
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


def stats_to_wire(stats: OpStats) -> dict[str, Any]:
    stats.flush()
    return {"ok": stats.ok, "failed": stats.failed, "unknown": stats.unknown, "items": stats.items,
            "warmup": stats.warmup, "first_errors": stats.first_errors,
            "response": encode(stats.response), "service": encode(stats.service),
            "processing": encode(stats.processing)}


def stats_from_wire(doc: dict[str, Any]) -> OpStats:
    return OpStats(decode(doc["response"]), decode(doc["service"]), decode(doc["processing"]), doc["ok"],
                   doc["failed"], doc["unknown"], doc["items"], doc["warmup"], list(doc["first_errors"]))


async def _one_store(ts: TimedStore, job: WriteJob, timeline: Timeline) -> LoadOutcome:
    adapter = type(ts.store)  # the worker imports it by name: plugin kinds included
    message_in = {"adapter": f"{adapter.__module__}:{adapter.__qualname__}", "endpoint": asdict(ts.store.endpoint),
                  "namespace": ts.store.namespace, "options": asdict(ts.store.options), "job": asdict(job)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox.measure.processes", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, limit=2**24)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(json.dumps(message_in).encode())
    proc.stdin.close()
    final: dict[str, Any] | None = None
    try:
        async for line in proc.stdout:
            message = json.loads(line)
            if "row" in message:
                timeline.add_row(message["row"])
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
        last = err.splitlines()[-1] if err else f"exit status {proc.returncode}"
        raise SandboxError(f"the {ts.name} worker process failed: {last}"[:300])
    ts.op("write").merge(stats_from_wire(final["stats"]))  # the worker's histograms, added exactly
    return LoadOutcome.from_json(final["outcome"])


async def write_in_processes(stores: list[TimedStore], job: WriteJob, timeline: Timeline) -> dict[str, LoadOutcome]:
    """The write phase with one worker process per store; returns each store's LoadOutcome."""
    timeline.local = False  # the rows come from the workers
    outcomes = await asyncio.gather(*(_one_store(ts, job, timeline) for ts in stores))
    return {ts.name: outcome for ts, outcome in zip(stores, outcomes, strict=True)}


async def _worker(message: dict[str, Any]) -> None:
    """Inside the worker process: connect, write under the plan, report."""
    import importlib

    from sandbox.workload.generator import Workload, WorkloadSpec

    def emit(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    job = WriteJob(**{**message["job"], "plan": LoadPlan(**message["job"]["plan"])})
    module, _, attr = message["adapter"].partition(":")
    adapter = getattr(importlib.import_module(module), attr)
    store = adapter(Endpoint(**message["endpoint"]), message["namespace"], adapter.Options(**message["options"]))
    await store.connect()
    try:
        ts = TimedStore(store, job.op_timeout_s)
        timeline = Timeline("write", None, SILENT, sink=lambda row: emit({"row": row}))
        timeline.watch(store.name, "write", ts.op("write"))
        async with timeline:
            outcomes = await write_everywhere([ts], Workload(WorkloadSpec(job.seed, job.orders)),
                                              job.plan.concurrency, job.batch, plan=job.plan)
        outcome = outcomes[store.name]
        if outcome.client is not None:
            outcome.client.processes = 1
        emit({"result": {"outcome": outcome.to_json(), "stats": stats_to_wire(ts.op("write"))}})
    finally:
        await store.close()  # never teardown: the namespace is the parent's


def main() -> None:
    message = json.loads(sys.stdin.read())
    try:
        import uvloop
        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_worker(message))


if __name__ == "__main__":
    main()
