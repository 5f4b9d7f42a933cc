"""Harness overhead: the whole write path against the no-op adapter, which answers at once.

What is left is the client's own cost per operation (load driver, timing wrapper with all three
times, the adapter call), so a store result within a few multiples of it measures the harness.
Order generation is measured apart too (generation alone, and harness + generation): a real run
pays both per operation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import repeat

from sandbox.config import Endpoint
from sandbox.measure.load import LoadPlan, drive
from sandbox.measure.saturation import CpuMeter
from sandbox.measure.timing import TimedStore
from sandbox.stores.noop.adapter import NoopStore
from sandbox.workload.generator import Workload, WorkloadSpec
from sandbox.workload.model import Order


@dataclass(frozen=True)
class Calibration:
    label: str
    ops: int
    seconds: float
    cpu: float  # share of one core

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    @property
    def us_per_op(self) -> float:
        return self.seconds / self.ops * 1e6 if self.ops else 0.0


async def measure_harness(ops: int, plan: LoadPlan, generate: bool, seed: int = 1) -> Calibration:
    """`ops` single-order writes to the no-op store under `plan`; `generate`: a fresh order each time."""
    ts = TimedStore(NoopStore(Endpoint(NoopStore.name, "noop://"), "calibration"))
    workload = Workload(WorkloadSpec(seed, ops))
    work = ([o] for o in workload.orders()) if generate else repeat([workload.order(0)], ops)

    async def write(orders: list[Order], intended_ns: int, begun_ns: int) -> None:
        await ts.write_batch(orders, intended_ns, begun_ns)

    meter = CpuMeter()
    start = time.perf_counter()
    await drive(work, write, plan)
    seconds = time.perf_counter() - start
    stats = ts.op("write")
    stats.flush()
    assert stats.ok == ops and stats.response.get_total_count() == ops
    label = "harness + order generation" if generate else "harness only (one order, reused)"
    return Calibration(label, ops, seconds, meter.fraction())


def measure_generation(orders: int, seed: int = 1) -> Calibration:
    """Generating `orders` orders of one seed's stream, nothing else (the catalog is built first)."""
    workload = Workload(WorkloadSpec(seed, orders))
    workload.order(0)  # builds the catalog, paid once per run
    meter = CpuMeter()
    start = time.perf_counter()
    made = sum(1 for _ in workload.orders())
    seconds = time.perf_counter() - start
    return Calibration("order generation only", made, seconds, meter.fraction())
