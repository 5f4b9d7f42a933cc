"""Load shapes: the intended start times a stage list gives, exactly, and bad stage syntax in one line."""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import asdict
from itertools import islice, pairwise

import pytest
from helpers import assert_usage_error, sandbox

from sandbox.errors import UsageError
from sandbox.measure.load import LoadPlan, arrivals, drive
from sandbox.measure.stage_syntax import parse_stages
from sandbox.measure.stages import resolve
from sandbox.scenario.spec import RunParams

NS = 1e9


def times(text: str, base: float | None = None, arrival: str = "constant", seed: int = 0) -> list[float]:
    return list(resolve(parse_stages(text), base).times(arrival, seed))


def test_hold_at_the_base_rate_is_the_constant_schedule() -> None:
    plan = LoadPlan(4, 50.0, stages=parse_stages("hold:2s")).validated()
    staged = list(islice(arrivals(plan, 1_000), 100))
    constant = list(islice(arrivals(LoadPlan(4, 50.0), 1_000), 100))
    assert staged == constant  # to the nanosecond
    assert plan.duration_s == 2.0 and plan.target_rate == 50.0


def test_ramp_times_are_the_square_root_of_the_cumulative_rate() -> None:
    # 0 -> 10/s over 2 s: Λ(t) = 2.5 t², so operation k is due at sqrt(k / 2.5); 10 are due in all.
    got = times("ramp:2s:10")
    assert len(got) == 10
    for k, t in enumerate(got):
        assert abs(t - math.sqrt(k / 2.5)) < 1e-12


def test_step_spike_and_the_rate_after_a_spike() -> None:
    # 10/s for 1 s, a spike at 100/s for 0.5 s, then hold goes on at 10/s (the rate before the spike).
    got = times("step:1s:10, spike:0.5s:100, hold:1s")
    assert len(got) == 10 + 50 + 10
    assert got[:10] == pytest.approx([k / 10 for k in range(10)], abs=1e-12)
    assert got[10:60] == pytest.approx([1 + k / 100 for k in range(50)], abs=1e-12)
    assert got[60:] == pytest.approx([1.5 + k / 10 for k in range(10)], abs=1e-12)


def test_relative_rates_follow_the_base_rate() -> None:
    assert times("step:1s:x2, spike:1s:x5", base=10) == pytest.approx(
        [k / 20 for k in range(20)] + [1 + k / 50 for k in range(50)], abs=1e-12)
    schedule = resolve(parse_stages("step:1s:x2"), 40)
    assert [m["stage"] for m in schedule.marks()] == ["step 80/s"]


def test_sine_times_hit_the_cumulative_rate_to_the_nanosecond() -> None:
    schedule = resolve(parse_stages("sine:4s:100:100:2s"), None)  # touches 0/s twice: Newton alone would stall
    got = list(schedule.times())
    assert len(got) == 400  # whole periods: mean x duration
    for k, t in enumerate(got):
        assert abs(schedule.due(t) - k) < 1e-6, (k, t)
    assert all(b > a for a, b in pairwise(got))
    first = sum(1 for t in got if t < 1.0)  # the rising half of the first period holds more than its share
    assert first > 150


def test_a_zero_rate_stage_is_a_lull() -> None:
    got = times("step:1s:0, step:1s:5")
    assert got == pytest.approx([1.0, 1.2, 1.4, 1.6, 1.8], abs=1e-12)


def test_poisson_stages_are_seeded_and_follow_the_rate() -> None:
    a = times("step:5s:200, step:5s:20", arrival="poisson", seed=3)
    assert a == times("step:5s:200, step:5s:20", arrival="poisson", seed=3)
    assert a != times("step:5s:200, step:5s:20", arrival="poisson", seed=4)
    fast, slow = sum(1 for t in a if t < 5), sum(1 for t in a if t >= 5)
    assert 850 < fast < 1150 and 60 < slow < 140


def test_drive_hands_out_exactly_the_scheduled_times() -> None:
    plan = LoadPlan(2, 20.0, stages=parse_stages("hold:0.5s, spike:0.25s:x4, ramp:0.5s:0")).validated()
    seen: list[int] = []
    started: list[int] = []

    async def do(item: int, intended: int, begun: int) -> None:
        seen.append(intended)

    result = asyncio.run(drive(range(10_000), do, plan, lambda r: started.append(r.started_ns)))
    expected = [started[0] + round(t * NS) for t in plan.schedule().times()]
    assert sorted(seen) == expected
    assert len(expected) == 10 + 20 + 5
    assert result.missed == 0


def test_warmup_is_inside_the_stages_and_duration_is_theirs() -> None:
    plan = LoadPlan(2, 10.0, warmup_s=1.0, stages=parse_stages("hold:3s")).validated()
    assert plan.duration_s == 2.0
    with pytest.raises(UsageError, match="both set the phase's length"):
        LoadPlan(2, 10.0, duration_s=5.0, stages=parse_stages("hold:3s")).validated()
    with pytest.raises(UsageError, match="not shorter than the stages"):
        LoadPlan(2, 10.0, warmup_s=3.0, stages=parse_stages("hold:3s")).validated()
    run = RunParams(rate=10.0, stages=parse_stages("hold:3s, spike:1s:x3")).validated()
    assert run.duration_s == 4.0 and len(run.stages) == 2


def test_a_worker_share_scales_absolute_rates_only() -> None:
    plan = LoadPlan(8, 100.0, stages=parse_stages("step:1s:400, spike:1s:x2"))
    half = plan.scaled(0.5)
    assert half.rate == 50.0 and [str(s) for s in half.stages] == ["step:1s:200", "spike:1s:x2"]
    assert LoadPlan(**json.loads(json.dumps(asdict(plan)))).stages == plan.stages  # as a worker process gets it


def test_toml_tables_and_strings_give_the_same_stages() -> None:
    tables = parse_stages([{"shape": "ramp", "duration": "10s", "to": 200}, {"shape": "hold", "duration": 5},
                           {"shape": "sine", "duration": "1m", "to": "x1", "amplitude": 50, "period": "20s"}])
    assert tables == parse_stages("ramp:10s:200, hold:5s, sine:60s:x1:50:20s")


@pytest.mark.parametrize(("text", "words"), [
    ("ramp:10s", "ramp takes 2 field(s)"),
    ("wobble:1s:3", "unknown shape 'wobble'"),
    ("step:ten:5", "'ten' is not a time"),
    ("spike:1s:lots", "rate 'lots' is not a number"),
    ("hold:1s:5", "hold takes 1 field(s)"),
    ("sine:10s:10:20:5s", "amplitude 20/s is above the mean"),
    ("step:0s:5", "duration must be above 0"),
    ("step:1s:0", "no operation is ever due"),
])
def test_bad_stages_are_one_line(text: str, words: str) -> None:
    with pytest.raises(UsageError, match=words.replace("(", r"\(").replace(")", r"\)")) as caught:
        resolve(parse_stages(text), None)
    assert "\n" not in str(caught.value)


def test_bad_stages_on_the_command_line_exit_2_in_one_line() -> None:
    proc = sandbox("run", "orders", "--stages", "ramp:10s:200, spike:2s")
    assert_usage_error(proc, "--stages", "spike takes 2 field(s)")


def test_capacity_takes_only_stages_relative_to_the_rate_it_tries() -> None:
    proc = sandbox("run", "capacity", "--stores", "redis", "--stages", "hold:2s, spike:1s:500")
    assert_usage_error(proc, "capacity: stage spike:1s:500 has a rate of its own", "xN")


def test_relative_stages_need_a_rate_for_the_write_step() -> None:
    proc = sandbox("run", "orders", "--stores", "redis", "--stages", "hold:2s, spike:1s:x3")
    assert_usage_error(proc, "write: stage spike:1s:x3 is relative", "--rate")
