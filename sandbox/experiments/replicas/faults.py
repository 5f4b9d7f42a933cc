"""Faults on a primary/replica pair, through the stack's fault injector (stack/faults.py).

- pause: the replica is paused (SIGSTOP / docker pause) for N s while the markers run: the lag grows
  to about N s; recovery = from the resume until a fresh marker is visible within the lag seen before.
- kill: the replica is killed for N s, then started again: reads fail, or fall back to the primary
  when the route is `fallback`; both are counted.
- promote: the primary is killed under a write load and the replica promoted (Replication.promote);
  every write of the load is then classified by the checker against the promoted node, so
  asynchronous replication's lost tail shows up as acknowledged-but-lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.experiments.replicas.run import Pair
from sandbox.measure.checker import StoreCheck, Verdict
from sandbox.measure.history import OpHistory, WriteOutcome
from sandbox.measure.latency import summarize
from sandbox.measure.load import closed_loop
from sandbox.measure.node_check import check_node
from sandbox.measure.replication import ReplicaReads
from sandbox.stack.faults import FaultInjector
from sandbox.stores.replication import replica_node
from sandbox.workload.dataset import Dataset, Instance

RECOVERY_FLOOR_S = 0.005  # a "normal" lag is at most the pre-fault p99, and never asked below this
OP_POLL_S = 0.005


@dataclass
class ReplicaFault:
    """What one fault did and what it cost, for the report."""

    store: str
    action: str  # pause | kill | promote
    seconds: float
    guarantee: str
    detail: list[str] = field(default_factory=list)  # what the injector and the servers said
    reads: ReplicaReads | None = None
    recovery_s: float | None = None  # pause: resume -> a fresh write visible within the usual lag
    baseline_s: float | None = None
    resumed_at: float | None = None  # time.monotonic() of the resume / restart
    check: StoreCheck | None = None  # promote: every write against the promoted node
    acknowledged: int = 0
    write_ms: dict[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "action": self.action, "seconds": self.seconds, "guarantee": self.guarantee,
                "detail": self.detail, "recovery_s": self.recovery_s, "baseline_s": self.baseline_s,
                "acknowledged": self.acknowledged, "write_ms": self.write_ms,
                "reads": self.reads.to_json() if self.reads else None,
                "check": self.check.to_json() if self.check else None}


def replica_outage(injector: FaultInjector, fault: ReplicaFault, at_s: float) -> Callable[[ReplicaReads],
                                                                                      Awaitable[None]]:
    """The fault schedule to run beside the markers: pause/resume or kill/start the replica."""
    node = replica_node(fault.store)
    down, up = ("pause", "resume") if fault.action == "pause" else ("kill", "start")

    async def during(reads: ReplicaReads) -> None:
        fault.reads = reads
        await asyncio.sleep(at_s)
        fault.detail.append(f"{node} {down}: {await injector.apply(node, down)}")
        began = time.monotonic()
        await asyncio.sleep(max(0.0, fault.seconds - (time.monotonic() - began)))
        fault.detail.append(f"{node} {up}: {await injector.apply(node, up)}")
        # Markers go on after this returns; finish_outage computes the recovery once they are done.
        fault.resumed_at = time.monotonic()
        before = [lag for acked, lag in reads.timeline if acked < began - reads.started]
        fault.baseline_s = max(RECOVERY_FLOOR_S, _p99(before))

    return during


def finish_outage(fault: ReplicaFault) -> ReplicaFault:
    if fault.reads is not None and fault.resumed_at is not None and fault.baseline_s is not None:
        fault.recovery_s = fault.reads.recovery_s(fault.resumed_at, fault.baseline_s)
    return fault


async def promote_after_kill(pair: Pair, injector: FaultInjector, fault: ReplicaFault, data: Dataset,
                             orders: int, concurrency: int, kill_at_op: int, history_path: Path,
                             behind_s: float = 0.0) -> ReplicaFault:
    """Write up to `orders` orders; after `kill_at_op` acknowledged writes kill the primary (first pausing
    the replica for `behind_s`, so it is that far behind, as a replica under load or far away is), stop
    writing, promote the replica and classify every write against it."""
    history = OpHistory(history_path)
    pair.background.listeners.append(history.listener)
    node = replica_node(pair.store)
    killed = asyncio.Event()

    def stream() -> Iterator[Instance]:
        for i in range(orders):
            if killed.is_set():
                return  # the application stops writing when its primary is gone
            yield data.root(i)

    sent: list[Instance] = []

    async def write(instance: Instance) -> bool:
        sent.append(instance)
        ok = await pair.background.write(instance)
        if not ok:
            killed.set()  # its primary failed it: the application stops writing
        return ok

    async def nemesis() -> None:
        while pair.background.op("write").ok < kill_at_op:
            await asyncio.sleep(OP_POLL_S)
        if behind_s > 0:
            fault.detail.append(f"{node} pause: {await injector.apply(node, 'pause')}")
            await asyncio.sleep(behind_s)
        fault.detail.append(f"{pair.store} kill: {await injector.apply(pair.store, 'kill')}")
        history.note_fault(pair.store, "kill")
        killed.set()
        if behind_s > 0:
            fault.detail.append(f"{node} resume: {await injector.apply(node, 'resume')}")
        fault.detail.append(f"{node} promote: {await pair.replication.promote(pair.replica_url)}")
        history.note_fault(pair.store, "promote", node)
        fault.detail.append(f"promoted node reports: {await pair.replication.role(pair.replica_url)}")

    try:
        await asyncio.gather(closed_loop(stream(), write, concurrency), nemesis())
    finally:
        history.close()
    outcomes = history.outcomes.of(pair.store)
    fault.acknowledged = sum(1 for o in outcomes.values() if o == WriteOutcome.ACKNOWLEDGED)
    key = pair.background.key
    fault.check, _, _ = await check_node(pair.store, pair.replica_reads.store, data.model.root, key,
                                         {str(i[key]): i for i in sent}, outcomes)
    fault.write_ms = summarize(pair.background.op("write").latency)
    return fault


def lost(fault: ReplicaFault) -> int:
    return fault.check.counts[Verdict.LOST] if fault.check else 0


def _p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
