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
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from sandbox.config import Endpoint
from sandbox.errors import SandboxError
from sandbox.measure.latency import OpStats, decode, encode
from sandbox.measure.load import LoadPlan
from sandbox.measure.saturation import ClientLoad
from sandbox.measure.timeline import Timeline
from sandbox.measure.timing import TimedStore

if TYPE_CHECKING:
    from sandbox.scenario.context import RunContext


def stats_to_wire(stats: OpStats) -> dict[str, Any]:
    stats.flush()
    return {"ok": stats.ok, "failed": stats.failed, "unknown": stats.unknown, "items": stats.items,
            "warmup": stats.warmup, "first_errors": stats.first_errors, "elapsed_s": stats.elapsed_s,
            "client": stats.client.to_json() if stats.client is not None else None,
            "response": encode(stats.response), "service": encode(stats.service),
            "processing": encode(stats.processing)}


def stats_from_wire(doc: dict[str, Any]) -> OpStats:
    stats = OpStats(decode(doc["response"]), decode(doc["service"]), decode(doc["processing"]), doc["ok"],
                    doc["failed"], doc["unknown"], doc["items"], doc["warmup"], list(doc["first_errors"]),
                    doc["elapsed_s"])
    if doc["client"] is not None:
        stats.client = ClientLoad.from_json(doc["client"])
    return stats


async def _one_store(ctx: RunContext, name: str, plan: LoadPlan, timeline: Timeline) -> int:
    ts = ctx.stores[name]
    p = ctx.params
    job = {"store": name, "endpoint": asdict(ts.store.endpoint), "namespace": ts.store.namespace,
           "options": asdict(ts.store.options), "seed": p.seed, "orders": p.orders, "batch": p.batch,
           "op_timeout_s": p.op_timeout_s, "plan": asdict(plan)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sandbox.measure.processes", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, limit=2**24)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(json.dumps(job).encode())
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
        raise SandboxError(f"the {name} worker process failed: {last}"[:300])
    stats = ts.op("write")
    child = stats_from_wire(final["stats"])
    stats.merge(child)
    stats.client = child.client
    return int(final["sent"])


async def write_in_processes(ctx: RunContext, plan: LoadPlan, timeline: Timeline) -> dict[str, int]:
    """The write phase with one worker process per store; returns orders sent per store."""
    names = list(ctx.stores)
    timeline.local = False  # the rows come from the workers
    sent = await asyncio.gather(*(_one_store(ctx, name, plan, timeline) for name in names))
    return dict(zip(names, sent, strict=True))


async def _worker(job: dict[str, Any]) -> None:
    """Inside the worker process: connect, write under the plan, report."""
    from sandbox.stores import make_store
    from sandbox.stores.base import StoreOptions
    from sandbox.strategies.independent import write_everywhere
    from sandbox.workload.generator import Workload, WorkloadSpec

    def emit(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    store = make_store(job["store"], Endpoint(**job["endpoint"]), job["namespace"], StoreOptions(**job["options"]))
    await store.connect()
    try:
        ts = TimedStore(store, job["op_timeout_s"])
        plan = LoadPlan(**job["plan"])
        timeline = Timeline("write", None, None, sink=lambda row: emit({"row": row}))
        timeline.watch(store.name, "write", ts.op("write"))
        async with timeline:
            sent = await write_everywhere([ts], Workload(WorkloadSpec(job["seed"], job["orders"])),
                                          plan.concurrency, job["batch"], plan=plan)
        ts.op("write").client.processes = 1
        emit({"result": {"sent": sent[store.name], "stats": stats_to_wire(ts.op("write"))}})
    finally:
        await store.close()  # never teardown: the namespace is the parent's


def main() -> None:
    job = json.loads(sys.stdin.read())
    try:
        import uvloop
        loop_factory = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(_worker(job))


if __name__ == "__main__":
    main()
