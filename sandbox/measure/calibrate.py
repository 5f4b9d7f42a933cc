"""Harness overhead: the whole write path against the no-op adapter, which answers at once.

What is left is the client's own cost per operation (load driver, timing wrapper with all three
times, the adapter call), so a store result within a few multiples of it measures the harness.
Generation of the model's root instances is measured apart too (generation alone, and harness +
generation): a real run pays both per operation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import repeat

from sandbox.config import Endpoint
from sandbox.measure.load import LoadPlan, drive
from sandbox.measure.saturation import CpuMeter
from sandbox.measure.timing import TimedStore
from sandbox.stores.noop.model_store import NoopModelStore
from sandbox.workload.dataset import Dataset, Instance, Sizes
from sandbox.workload.schema import Model


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


async def measure_harness(model: Model, ops: int, plan: LoadPlan, generate: bool, seed: int = 1) -> Calibration:
    """`ops` single writes to the no-op store under `plan`; `generate`: a fresh root instance each time."""
    data = Dataset(model, seed, Sizes(ops))
    noop = NoopModelStore(Endpoint(NoopModelStore.kind, "noop://"), "calibration", model, {})
    ts = TimedStore(noop, entity=model.root, key=model.root_entity.key)
    work = ([o] for o in data.roots()) if generate else repeat([data.root(0)], ops)

    async def write(instances: list[Instance], intended_ns: int, begun_ns: int) -> None:
        await ts.write_batch(instances, intended_ns, begun_ns)

    meter = CpuMeter()
    start = time.perf_counter()
    await drive(work, write, plan)
    seconds = time.perf_counter() - start
    stats = ts.op("write")
    stats.flush()
    assert stats.ok == ops and stats.response.get_total_count() == ops
    label = f"harness + {model.root} generation" if generate else f"harness only (one {model.root}, reused)"
    return Calibration(label, ops, seconds, meter.fraction())


def measure_generation(model: Model, count: int, seed: int = 1) -> Calibration:
    """Generating `count` root instances of one seed's stream, nothing else (reference data made first)."""
    data = Dataset(model, seed, Sizes(count))
    data.root(0)  # makes the reference data, paid once per run
    meter = CpuMeter()
    start = time.perf_counter()
    made = sum(1 for _ in data.roots())
    seconds = time.perf_counter() - start
    return Calibration(f"{model.root} generation only", made, seconds, meter.fraction())
