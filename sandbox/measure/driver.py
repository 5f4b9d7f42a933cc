"""The benchmark's load driver: every store gets the same stream of root instances, each at its own pace.

Stores are not coupled to each other (a slow store does not slow the others' measurements),
which is what a side-by-side benchmark wants. What an application that writes one order to all
stores in turn experiences is the dual-write strategy's business (sandbox.strategies), not this one's.

The histograms are TimedStore's; what the driver adds is returned, never written into the wrappers:
a LoadOutcome per store (orders sent, measured wall time, the client's own load).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.measure.load import LoadPlan, LoadResult, batched, drive, gather_all
from sandbox.measure.saturation import ClientLoad, CpuMeter, client_load
from sandbox.measure.timing import TimedStore
from sandbox.workload.dataset import Dataset, Instance


@dataclass
class LoadOutcome:
    """One phase against one store, besides its histograms: what the report divides counts by."""

    elapsed_s: float  # wall time of the measured part of the phase (warm-up excluded)
    client: ClientLoad | None = None  # the harness's CPU and schedule lag, when measured
    sent: int | None = None  # root instances sent (a prefix of the stream); None for phases that do not write

    def to_json(self) -> dict[str, Any]:
        return {"elapsed_s": self.elapsed_s, "client": self.client.to_json() if self.client else None,
                "sent": self.sent}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> LoadOutcome:
        client = ClientLoad.from_json(doc["client"]) if doc["client"] is not None else None
        return cls(doc["elapsed_s"], client, doc["sent"])


async def write_everywhere(stores: list[TimedStore], dataset: Dataset, concurrency: int, batch: int,
                           advance: Callable[[str, int], None] | None = None, *, plan: LoadPlan | None = None,
                           share: tuple[int, int] = (0, 1)) -> dict[str, LoadOutcome]:
    """Write to every store under `plan` (default: closed loop at `concurrency`); returns each store's
    LoadOutcome (instances sent: all of the stream unless the run is limited by duration). share (i, n): only
    instances i, i+n, i+2n, ... (load worker i of n, see sandbox.measure.processes)."""
    plan = plan or LoadPlan(concurrency)
    meter = CpuMeter()
    outcomes: dict[str, LoadOutcome] = {}

    async def feed(ts: TimedStore) -> None:
        count = 0

        async def write(instances: list[Instance], intended_ns: int, begun_ns: int) -> None:
            nonlocal count
            count += len(instances)
            await ts.write_batch(instances, intended_ns, begun_ns)
            if advance is not None:  # progress bars; the timeline shows progress without a per-op call
                advance(ts.name, len(instances))

        def started(result: LoadResult) -> None:
            ts.measure_from_ns = result.measure_from_ns

        # Each store regenerates the stream from the seed: same instances, no shared buffer to hold.
        result = await drive(batched(dataset.roots(share[0], step=share[1]), batch), write, plan, started)
        outcomes[ts.name] = LoadOutcome(result.measured_s, client_load(plan, result, meter), count)

    await gather_all(*(feed(ts) for ts in stores))
    return outcomes
