"""Short measured steps of a model's mix on one store: the capacity search's and the sweeps' unit of measurement.

Each step gets fresh histograms and continues the data where the last step left it: another seed, the
roots earlier steps inserted counted in, and versions above any an earlier step sent (so its transitions
are real writes, not refusals of stale versions).
"""

from __future__ import annotations

from typing import Any

from sandbox.measure.capacity import Measure, StepResult
from sandbox.measure.latency import OpStats
from sandbox.measure.load import LoadPlan
from sandbox.measure.pattern_driver import run_pattern_mix
from sandbox.measure.stages import Stage
from sandbox.measure.timing import TimedStore
from sandbox.workload.dataset import Dataset
from sandbox.workload.distributions import KeyDistribution
from sandbox.workload.pattern_stream import RootValues
from sandbox.workload.schema import Mix

VERSIONS_PER_STEP = 1_000_000  # more transitions than one step sends to one instance; x 2,000 steps fits an int32


def percentile_ms(stats: list[OpStats], percentile: float) -> float | None:
    """One percentile of response time over all of a mix's operations (histograms merged exactly)."""
    total = OpStats()
    for s in stats:
        total.merge(s)
    hist = total.response
    return hist.get_value_at_percentile(percentile) / 1000 if hist.get_total_count() else None


class MixProbe:
    def __init__(self, store: Any, ds: Dataset, mix: Mix, loaded: int, seed: int, percentile: float,
                 op_timeout_s: float = 10.0, distribution: KeyDistribution | None = None):
        self.store, self.ds, self.mix, self.distribution = store, ds, mix, distribution
        self.loaded, self.seed, self.percentile, self.op_timeout_s = loaded, seed, percentile, op_timeout_s
        self.steps = 0
        self.roots = RootValues.for_patterns(ds, (ds.model.patterns[name] for name, _ in mix.weights))

    async def step(self, plan: LoadPlan) -> StepResult:
        """One step under `plan` (open loop at plan.rate, or closed loop at plan.concurrency)."""
        self.steps += 1
        seed = self.seed + self.steps
        timed = TimedStore(self.store, self.op_timeout_s)
        outcome = await run_pattern_mix(timed, self.store, self.ds, self.mix, self.loaded, seed, plan,
                                        version_floor=self.steps * VERSIONS_PER_STEP, distribution=self.distribution,
                                        roots=self.roots)
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
