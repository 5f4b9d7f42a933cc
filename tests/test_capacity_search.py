"""The capacity search's logic against a queueing model (the real-store test is tests/test_capacity.py)."""

from __future__ import annotations

import pytest

from sandbox.errors import UsageError
from sandbox.measure.capacity import Measure, SearchPlan, Slo, StepResult, find_capacity


def queue_model(service_ms: float, servers_rate: float, client_limit: float | None = None) -> Measure:
    """p99 of an M/M/1 queue: -ln(0.01) * service / (1 - utilisation); behind schedule past saturation."""
    async def measure(rate: float) -> StepResult:
        utilisation = rate / servers_rate
        flags: tuple[str, ...] = ()
        if client_limit is not None and rate >= client_limit:
            return StepResult(rate, client_limit, 500.0, 100, 0, ("client-saturated", "behind-schedule"))
        if utilisation >= 1:
            return StepResult(rate, servers_rate, 10_000.0, 100, 0, ("behind-schedule",))
        return StepResult(rate, rate, 4.6 * service_ms / (1 - utilisation), 100, 0, flags)
    return measure


def crossover(service_ms: float, servers_rate: float, limit_ms: float) -> float:
    return servers_rate * (1 - 4.6 * service_ms / limit_ms)


async def test_finds_the_rate_where_the_percentile_crosses_the_target() -> None:
    slo = Slo.parse("p99=50ms")
    result = await find_capacity("model", queue_model(1.0, 3000), slo, SearchPlan(start_rate=100, precision=0.05))
    true = crossover(1.0, 3000, 50)  # 2724 ops/s
    assert result.capacity is not None and result.ceiling is not None
    assert result.capacity <= true <= result.ceiling
    assert result.ceiling - result.capacity <= 0.05 * result.capacity
    assert result.limited_by == "store"
    curve = result.to_json()["curve"]
    assert [p["rate"] for p in curve] == sorted(p["rate"] for p in curve) and len(curve) == len(result.steps)


async def test_a_throttled_store_has_a_lower_capacity() -> None:
    slo, plan = Slo.parse("p99=20ms"), SearchPlan(start_rate=50)
    fast = await find_capacity("fast", queue_model(1.0, 4000), slo, plan)
    slow = await find_capacity("slow", queue_model(1.0, 1000), slo, plan)
    assert fast.capacity and slow.capacity and slow.capacity < 0.5 * fast.capacity


async def test_ramps_down_when_the_first_rate_already_fails() -> None:
    result = await find_capacity("model", queue_model(2.0, 100), Slo.parse("p99=50ms"),
                                 SearchPlan(start_rate=1000, precision=0.1))
    assert result.capacity is not None and result.capacity <= crossover(2.0, 100, 50) <= result.ceiling  # type: ignore[operator]


async def test_nothing_holds_gives_no_capacity() -> None:
    result = await find_capacity("model", queue_model(20.0, 1000), Slo.parse("p99=50ms"),
                                 SearchPlan(start_rate=100, min_rate=10))
    assert result.capacity is None and result.to_json()["capacity_ops_s"] is None


async def test_says_when_the_client_was_the_limit() -> None:
    result = await find_capacity("model", queue_model(0.1, 100_000, client_limit=3000), Slo.parse("p99=50ms"),
                                 SearchPlan(start_rate=500))
    assert result.capacity is not None and result.capacity < 3000 <= result.ceiling  # type: ignore[operator]
    assert result.limited_by == "client"


async def test_errors_and_lag_fail_a_step() -> None:
    slo = Slo.parse("p99=50ms")
    assert not StepResult(100, 100, 1.0, 99, 1).holds(slo)
    assert not StepResult(100, 80, 1.0, 100, 0, ("behind-schedule",)).holds(slo)
    assert StepResult(100, 100, 1.0, 100, 0, ("host-saturated",)).holds(slo)


@pytest.mark.parametrize(("text", "expected"), [("p99=50ms", Slo(99, 50)), ("p99.9=2s", Slo(99.9, 2000)),
                                                 ("p50 = 800us", Slo(50, 0.8))])
def test_slo_parses(text: str, expected: Slo) -> None:
    assert Slo.parse(text) == expected


@pytest.mark.parametrize("text", ["99=50ms", "p99=50", "p100=1ms", "p99=0ms", "p99<50ms"])
def test_bad_slo_says_how_to_write_one(text: str) -> None:
    with pytest.raises(UsageError, match=r"p99=50ms|percentile"):
        Slo.parse(text)


async def test_the_report_plots_every_step_and_the_target() -> None:
    from sandbox.report.plots import capacity_figure

    slo = Slo.parse("p99=50ms")
    result = await find_capacity("model", queue_model(1.0, 3000), slo, SearchPlan(start_rate=100))
    fig = capacity_figure({"model": result.to_json()}, {"model": "#1f77b4"})
    ax = fig.axes[0]
    held, failed = (len(c.get_offsets()) for c in ax.collections)
    assert (held, failed) == (sum(s.holds(slo) for s in result.steps), sum(not s.holds(slo) for s in result.steps))
    assert any(line.get_ydata()[0] == 50 for line in ax.lines)  # the target
