"""Short measured steps of a mix on one store: the capacity search's and the sweeps' unit of measurement.

Each step gets fresh histograms and continues the data where the last step left it: another seed, the
orders earlier steps inserted counted in, and versions above any an earlier step sent (so its updates
are real writes, not refusals of stale versions).
"""

from __future__ import annotations

from sandbox.measure.capacity import Measure, StepResult
from sandbox.measure.latency import OpStats
from sandbox.measure.load import LoadPlan
from sandbox.measure.mix_driver import OrderIds, run_mix
from sandbox.measure.stages import Stage
from sandbox.measure.timing import TimedStore
from sandbox.stores.base import Store
from sandbox.workload.generator import Workload
from sandbox.workload.mix import MixSpec

VERSIONS_PER_STEP = 1_000_000  # more updates than one step sends to one order; x 2,000 steps fits an int32


def percentile_ms(stats: list[OpStats], percentile: float) -> float | None:
    """One percentile of response time over all of a mix's operations (histograms merged exactly)."""
    total = OpStats()
    for s in stats:
        total.merge(s)
    hist = total.response
    return hist.get_value_at_percentile(percentile) / 1000 if hist.get_total_count() else None


class MixProbe:
    def __init__(self, store: Store, workload: Workload, mix: MixSpec, loaded: int, seed: int, ids: OrderIds,
                 percentile: float, op_timeout_s: float = 10.0):
        self.store, self.workload, self.mix, self.ids = store, workload, mix, ids
        self.loaded, self.seed, self.percentile, self.op_timeout_s = loaded, seed, percentile, op_timeout_s
        self.steps = 0

    async def step(self, plan: LoadPlan) -> StepResult:
        """One step under `plan` (open loop at plan.rate, or closed loop at plan.concurrency)."""
        self.steps += 1
        seed = self.seed + self.steps
        timed = TimedStore(self.store, self.op_timeout_s)
        outcome = await run_mix(timed, self.workload, self.mix, self.loaded, seed, plan, self.ids,
                                version_floor=self.steps * VERSIONS_PER_STEP)
        self.loaded += outcome.inserted
        stats = list(timed.stats.values())
        ok = sum(s.ok for s in stats)
        client = outcome.client
        assert client is not None
        achieved = client.started_rate if plan.open else (ok / outcome.elapsed_s if outcome.elapsed_s else None)
        errors = [e for s in stats for e in s.first_errors]
        return StepResult(plan.rate or 0.0, achieved, percentile_ms(stats, self.percentile), ok,
                          sum(s.failed + s.unknown for s in stats), tuple(client.flags), percentile_ms(stats, 50.0),
                          errors[0] if errors else None)

    def at_rate(self, concurrency: int, warmup_s: float, step_s: float, stages: tuple[Stage, ...] = ()) -> Measure:
        """measure(rate) for the capacity search; with stages (rates relative to the one tried), each step is
        that shape around the rate tried, and lasts as long as the stages."""
        async def measure(rate: float) -> StepResult:
            return await self.step(LoadPlan(concurrency, rate, "constant", warmup_s, None if stages else step_s,
                                            self.seed, stages).validated())
        return measure


def rate_probe(store: Store, workload: Workload, mix: MixSpec, loaded: int, seed: int, ids: OrderIds,
               concurrency: int, warmup_s: float, step_s: float, percentile: float,
               op_timeout_s: float = 10.0, stages: tuple[Stage, ...] = ()) -> Measure:
    return MixProbe(store, workload, mix, loaded, seed, ids, percentile, op_timeout_s).at_rate(concurrency, warmup_s,
                                                                                              step_s, stages)
