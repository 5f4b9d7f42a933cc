"""The harness's clock, checked against a store whose latency we control.

FakeLatencyStore is the one fake store in the project: it tests the measuring harness, not a store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from itertools import repeat

import pytest

from sandbox.config import Endpoint
from sandbox.errors import UsageError
from sandbox.measure.driver import LoadOutcome
from sandbox.measure.latency import OpStats, record_many_ns, summarize
from sandbox.measure.load import LoadPlan, arrivals, drive
from sandbox.measure.processes import stats_from_wire, stats_to_wire
from sandbox.measure.saturation import ClientLoad, CpuMeter, client_load
from sandbox.measure.timing import TimedStore
from sandbox.scenario.spec import RunParams
from sandbox.stores.noop.model_store import NoopModelStore
from tests.helpers import dataset, model


class FakeLatencyStore(NoopModelStore):
    """Answers every write after `delay_s`; the write numbered `stall_at` takes `stall_s` instead."""

    def __init__(self, delay_s: float, stall_at: int | None = None, stall_s: float = 0.0):
        super().__init__(Endpoint("noop", "noop://"), "test", model(), {})
        self.delay_s, self.stall_at, self.stall_s = delay_s, stall_at, stall_s
        self.writes = 0

    async def write(self, order: dict) -> None:
        self.writes += 1
        await asyncio.sleep(self.stall_s if self.writes == self.stall_at else self.delay_s)


def _order() -> dict:
    return dataset(1).root(0)


async def run_plan(store: FakeLatencyStore, plan: LoadPlan, ops: int, timeout_s: float = 10.0
                   ) -> tuple[TimedStore, OpStats, LoadOutcome]:
    ts = TimedStore(store, timeout_s, entity="order", key="id")
    meter = CpuMeter()

    async def write(orders: list[dict], intended_ns: int, begun_ns: int) -> None:
        await ts.write_batch(orders, intended_ns, begun_ns)

    def started(result):  # type: ignore[no-untyped-def]
        ts.measure_from_ns = result.measure_from_ns

    result = await drive(repeat([_order()], ops), write, plan, started)
    stats = ts.op("write")
    stats.flush()
    return ts, stats, LoadOutcome(result.measured_s, client_load(plan, result, meter))


def ms(hist, p: float) -> float:  # type: ignore[no-untyped-def]
    return hist.get_value_at_percentile(p) / 1000.0


async def test_reported_p50_is_within_5_percent_of_injected_latency() -> None:
    _, stats, _ = await run_plan(FakeLatencyStore(0.020), LoadPlan(concurrency=4), ops=160)
    assert stats.ok == 160
    for hist in (stats.service, stats.response):
        assert abs(ms(hist, 50) - 20.0) <= 1.0, summarize(hist)


async def test_open_loop_shows_a_one_second_stall_in_p99_and_closed_loop_hides_it() -> None:
    # One connection, like wrk2: operations due during the stall wait, and their wait is counted.
    _, opened, _ = await run_plan(FakeLatencyStore(0.002, stall_at=100, stall_s=1.0),
                               LoadPlan(concurrency=1, rate=200), ops=600)
    assert ms(opened.response, 99) >= 500, summarize(opened.response)
    assert ms(opened.service, 99) < 100, "service time leaves the queueing out"

    _, closed, _ = await run_plan(FakeLatencyStore(0.002, stall_at=100, stall_s=1.0), LoadPlan(concurrency=1), ops=600)
    assert closed.response.get_max_value() >= 1_000_000, "the stall itself is recorded once"
    assert ms(closed.response, 99) < 100, "closed loop: one slow operation, p99 looks fine (coordinated omission)"


async def test_a_rate_the_client_cannot_reach_is_reported_as_schedule_lag_and_flagged() -> None:
    _, stats, load = await run_plan(FakeLatencyStore(0.010), LoadPlan(concurrency=1, rate=1000, duration_s=1.0),
                              ops=10_000)
    client = load.client
    assert client.behind and "behind-schedule" in client.flags
    assert client.missed > 0, "operations due but never sent are counted, not dropped"
    assert client.started_rate < 200 and client.lag_mean_ms > 100
    assert stats.to_json(load.elapsed_s, client.to_json())["flags"] == client.flags


async def test_reachable_rate_is_not_flagged_and_keeps_its_schedule() -> None:
    _, stats, load = await run_plan(FakeLatencyStore(0.001), LoadPlan(concurrency=4, rate=200, duration_s=1.0),
                                    ops=10_000)
    assert "behind-schedule" not in load.client.flags  # CPU flags depend on what else the machine runs
    assert 190 <= stats.ok <= 201 and load.client.missed == 0


async def test_warmup_is_left_out_of_the_results() -> None:
    _, stats, load = await run_plan(FakeLatencyStore(0.005), LoadPlan(concurrency=2, warmup_s=0.3, duration_s=0.5),
                              ops=100_000)
    assert stats.warmup > 50 and stats.ok > 50
    assert stats.response.get_total_count() == stats.ok
    assert 0.45 <= load.elapsed_s <= 0.7


async def test_operation_count_limits_a_run() -> None:
    ts, stats, _ = await run_plan(FakeLatencyStore(0.0), LoadPlan(concurrency=3), ops=1234)
    assert stats.ok == 1234 and ts.store.writes == 1234  # type: ignore[attr-defined]


async def test_a_call_past_the_timeout_is_cut_off_and_counted_unknown() -> None:
    started = time.perf_counter()
    _, stats, _ = await run_plan(FakeLatencyStore(0.001, stall_at=2, stall_s=5.0), LoadPlan(concurrency=1), ops=3,
                              timeout_s=0.3)
    assert time.perf_counter() - started < 2.0
    assert stats.unknown == 1 and stats.ok == 2 and "TimeoutError" in stats.first_errors[0]


def test_a_wrapper_used_on_a_new_event_loop_still_times_calls_out() -> None:
    # TimedCalls remembers the loop of its last call (a cheaper task lookup): a new loop must be noticed.
    ts = TimedStore(FakeLatencyStore(0.001, stall_at=2, stall_s=5.0), op_timeout_s=0.3)
    order = _order()
    started = time.perf_counter()
    assert [asyncio.run(ts.write(order)) for _ in range(3)] == [True, False, True]  # one loop each
    assert time.perf_counter() - started < 2.0
    assert ts.op("write").unknown == 1 and "TimeoutError" in ts.op("write").first_errors[0]


async def test_a_timed_out_call_keeps_its_duration_in_the_unknown_histogram_and_the_all_attempts_p99() -> None:
    _, stats, _ = await run_plan(FakeLatencyStore(0.001, stall_at=50, stall_s=5.0), LoadPlan(concurrency=1), ops=60,
                              timeout_s=0.3)
    assert stats.unknown == 1 and stats.ok == 59
    assert stats.response.get_total_count() == 59 and ms(stats.response, 100) < 100, "successes only"
    assert stats.unknown_response.get_total_count() == 1 and 300 <= ms(stats.unknown_response, 100) < 600
    assert stats.failed_response.get_total_count() == 0
    everything = stats.all_attempts()
    assert everything.get_total_count() == 60 and ms(everything, 100) >= 300
    doc = stats.to_json()
    assert doc["unknown_ms"]["max"] >= 300 and doc["failed_ms"]["max"] is None
    assert doc["all_attempts_ms"]["max"] >= 300 > doc["latency_ms"]["max"]


class RefusingStore(FakeLatencyStore):
    """Refuses every write whose number is in `refuse` (the store answered with an error)."""

    def __init__(self, delay_s: float, refuse: list[int]):
        super().__init__(delay_s)
        self.refuse = refuse

    async def write(self, order: dict) -> None:
        await super().write(order)
        if self.writes in self.refuse:
            raise ValueError(f"write {self.writes} refused")


async def test_failed_calls_are_timed_and_warmup_errors_are_counted() -> None:
    # Writes 1-10 fall in the warm-up (0.3 s of 5 ms writes on one worker is ~60), 150-159 after it.
    refuse = [*range(1, 11), *range(150, 160)]
    _, stats, _ = await run_plan(RefusingStore(0.005, refuse), LoadPlan(concurrency=1, warmup_s=0.3),
                              ops=200)
    assert stats.warmup_errors == 10 and stats.warmup > 10
    assert stats.failed == 10 and stats.failed_response.get_total_count() == 10
    assert 4 <= ms(stats.failed_response, 50) < 50
    assert stats.to_json()["warmup_errors"] == 10
    assert any("refused" in e for e in stats.first_errors)


class SwallowingStore(FakeLatencyStore):
    """Answers even when its caller is cancelled, as redis-py's pipelines were seen to do here."""

    async def write(self, order: dict) -> None:
        self.writes += 1
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(self.delay_s)


async def test_a_cancelled_writer_stops_even_when_the_client_library_swallows_the_cancellation() -> None:
    store = SwallowingStore(0.005)
    task = asyncio.get_running_loop().create_task(run_plan(store, LoadPlan(concurrency=4), ops=100_000))
    await asyncio.sleep(0.2)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2.0)
    assert done and task.cancelled(), "the writers did not stop within 2 s of the cancellation"
    stopped_at = store.writes
    await asyncio.sleep(0.2)
    assert 0 < stopped_at == store.writes, "writes went on after the run was cancelled"


def test_error_histograms_survive_the_trip_between_processes() -> None:
    stats = OpStats()
    stats.record_error(2_000_000, unknown=False, exc=ValueError("no"))
    stats.record_error(9_000_000_000, unknown=True, exc=TimeoutError("late"))
    stats.warmup_errors = 4
    back = stats_from_wire(json.loads(json.dumps(stats_to_wire(stats))))
    assert (back.failed, back.unknown, back.warmup_errors) == (1, 1, 4)
    assert back.failed_response.encode() == stats.failed_response.encode()
    assert back.unknown_response.encode() == stats.unknown_response.encode()
    merged = OpStats()
    merged.merge(back)
    assert merged.all_attempts().get_total_count() == 2 and merged.warmup_errors == 4


def test_poisson_schedule_is_seeded_and_has_the_target_mean_gap() -> None:
    plan = LoadPlan(rate=1000, arrival="poisson", seed=42)
    a, b = arrivals(plan, 0), arrivals(plan, 0)
    first = [next(a) for _ in range(20_000)]
    assert first == [next(b) for _ in range(20_000)]
    mean_gap_ms = (first[-1] - first[0]) / (len(first) - 1) / 1e6
    assert 0.95 <= mean_gap_ms <= 1.05
    const = arrivals(LoadPlan(rate=4), 10)
    assert [next(const) for _ in range(3)] == [10, 10 + 250_000_000, 10 + 500_000_000]


def test_buffered_recording_equals_one_by_one() -> None:
    rng = random.Random(3)
    values = [rng.randrange(0, 70_000_000_000) for _ in range(5000)] + [5, 999, 1000, 60_000_000_999_999]
    one, bulk = OpStats(), OpStats()
    for ns in values:
        one.response.record_value(min(max(ns // 1000, 1), 60_000_000))
    record_many_ns((bulk.response, bulk.service), values[:100])  # twice into histograms that hold values
    record_many_ns((bulk.response, bulk.service), values[100:])
    for hist in (bulk.response, bulk.service):
        assert one.response.encode() == hist.encode()
        assert (hist.get_total_count(), hist.get_min_value(), hist.get_max_value()) == (
            one.response.get_total_count(), one.response.get_min_value(), one.response.get_max_value())
        assert [hist.get_value_at_percentile(p) for p in (1, 50, 99, 99.99)] == [
            one.response.get_value_at_percentile(p) for p in (1, 50, 99, 99.99)]


WORKER = """
import json, random, sys
from sandbox.measure.latency import OpStats, record_many_ns
from sandbox.measure.processes import stats_to_wire
part, parts = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(11)
values = [int(rng.lognormvariate(13, 1.5)) for _ in range(30000)][part::parts]
stats = OpStats()
stats.pending[0].extend(values); stats.pending[1].extend(v // 2 for v in values); stats.pending[2].extend(values)
stats.ok = len(values)
print(json.dumps(stats_to_wire(stats)))
"""


def test_histograms_merged_across_processes_equal_a_single_process_histogram() -> None:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    parts = [json.loads(subprocess.run([sys.executable, "-c", WORKER, str(i), "3"], capture_output=True, text=True,
                                       check=True, env=env).stdout) for i in range(3)]
    merged = OpStats()
    for doc in parts:
        merged.merge(stats_from_wire(doc))
    single = stats_from_wire(json.loads(subprocess.run([sys.executable, "-c", WORKER, "0", "1"], capture_output=True,
                                                       text=True, check=True, env=env).stdout))
    assert merged.ok == single.ok == 30000
    for name in ("response", "service", "processing"):
        a, b = getattr(merged, name), getattr(single, name)
        assert a.get_total_count() == b.get_total_count()
        assert [a.get_value_at_percentile(p) for p in (0, 25, 50, 90, 99, 99.9, 100)] == \
            [b.get_value_at_percentile(p) for p in (0, 25, 50, 90, 99, 99.9, 100)]
        assert stats_to_wire(merged)[name] == stats_to_wire(single)[name]


@pytest.mark.parametrize("plan, message", [
    (LoadPlan(rate=0), "--rate must be a positive"), (LoadPlan(rate=-5), "--rate must be a positive"),
    (LoadPlan(duration_s=0), "--duration must be a positive"), (LoadPlan(duration_s=-1), "--duration"),
    (LoadPlan(concurrency=0), "--concurrency must be a positive"), (LoadPlan(concurrency=-2), "--concurrency"),
    (LoadPlan(warmup_s=-1), "--warmup"), (LoadPlan(rate=float("inf")), "--rate"),
    (LoadPlan(arrival="bursty"), "--arrival must be constant or poisson"),  # type: ignore[arg-type]
])
def test_bad_load_plans_are_usage_errors(plan: LoadPlan, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan.validated()


@pytest.mark.parametrize("params", [RunParams(rate=0), RunParams(duration_s=-3), RunParams(concurrency=0),
                                    RunParams(processes="many")])
def test_bad_run_params_are_usage_errors(params: RunParams) -> None:
    with pytest.raises(UsageError):
        params.validated()


def test_saturation_flags_name_the_client_and_the_host_apart() -> None:
    assert ClientLoad(cpu=0.2, host_cpu=0.5).flags == []
    assert ClientLoad(cpu=0.95, host_cpu=0.6).flags == ["client-saturated"]
    assert ClientLoad(cpu=0.3, host_cpu=0.97).flags == ["host-saturated"]
    assert ClientLoad.from_json(ClientLoad(cpu=0.3, host_cpu=0.97).to_json()).flags == ["host-saturated"]
