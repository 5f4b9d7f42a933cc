"""The bench's repeat logic (pure): alternating order, medians, spread. No timing here."""

from __future__ import annotations

from bench.repeats import Samples, alternate, ratio, schedule


def test_sides_alternate_forwards_and_backwards() -> None:
    assert schedule(["sandbox", "bare", "native"], 3) == [
        "sandbox", "bare", "native", "native", "bare", "sandbox", "sandbox", "bare", "native"]


async def test_alternate_collects_one_sample_per_side_and_repeat() -> None:
    calls: list[str] = []

    def side(name: str, value: float):  # type: ignore[no-untyped-def]
        async def run() -> float:
            calls.append(name)
            return value + len(calls)
        return run

    got = await alternate({"a": side("a", 100), "b": side("b", 200)}, repeats=3)
    assert calls == ["a", "b", "b", "a", "a", "b"]
    assert got["a"].values == [101, 104, 105] and got["b"].values == [202, 203, 206]


def test_median_spread_and_ratio() -> None:
    s = Samples([90.0, 100.0, 130.0])
    assert s.median == 100.0 and s.spread() == "±20%"
    assert ratio(Samples([50.0, 60.0, 40.0]), s) == 0.5
    assert Samples([]).median is None and ratio(Samples([]), s) is None and Samples([5.0]).spread() == "-"


def test_a_missed_goal_says_why_and_whether_the_repeats_overlap() -> None:
    from bench.common import Row
    from bench.why import missed, section

    noisy = Row("(x) thing, 5 concurrent vs tool", "srv", "ops/s", Samples([80.0, 95.0, 85.0]),
                Samples([100.0, 90.0, 110.0]), Samples([400.0, 410.0, 390.0]), library_target=0.5,
                why_harness="harness profile says so", why_library="library profile says so")
    lines = missed(noisy)
    assert lines[0].startswith("sandbox/bare 0.85 < 0.9: the repeats overlap") and "harness profile" in lines[0]
    assert lines[1].startswith("bare/native 0.25 < 0.5") and "library profile" in lines[1]
    apart = Row("(y) other", "srv", "ops/s", Samples([50.0, 60.0, 55.0]), Samples([100.0, 90.0, 110.0]))
    assert "do not overlap" in missed(apart)[0] and "no profile recorded" in missed(apart)[0]
    met = Row("(z) fine", "srv", "ops/s", Samples([99.0]), Samples([100.0]), Samples([100.0]), library_target=0.8)
    assert missed(met) == [] and section([met]).startswith("Every goal")
    assert "- (x) thing, 5 concurrent: sandbox/bare" in section([noisy, met])


async def test_sides_may_report_their_cpu_per_unit_and_a_miss_shows_what_the_harness_alone_allows() -> None:
    from bench.common import Row
    from bench.why import missed

    async def sandbox() -> tuple[float, float]:
        return 80.0, 12_000.0  # 80 ops/s, 12 ms of CPU per op

    async def bare() -> tuple[float, float]:
        return 100.0, 9_000.0

    got = await alternate({"sandbox": sandbox, "bare": bare}, repeats=3)
    assert got["sandbox"].cpu_us == [12_000.0] * 3 and got["bare"].cpu_median == 9_000.0
    row = Row("(c) cpu", "srv", "ops/s", got["sandbox"], got["bare"])
    assert row.harness_cpu_us == 3_000.0
    # bare: 10 ms of wall per op; 3 ms more CPU allows 10 / 13 = 0.77
    assert "client CPU 12,000.0 vs 9,000.0 µs per op (harness +3000.0 µs)" in missed(row)[0]
    assert "would allow sandbox/bare 0.77" in missed(row)[0]


async def test_server_calls_per_unit_are_collected_and_shown_per_side() -> None:
    from bench.common import Row
    from bench.repeats import Sample
    from bench.run import _calls

    async def one() -> Sample:
        return Sample(100.0, 5.0, 1.0)

    async def two() -> Sample:
        return Sample(90.0, None, 2.0)

    got = await alternate({"sandbox": one, "bare": two}, repeats=3)
    assert got["sandbox"].calls == [1.0] * 3 and got["bare"].calls_median == 2.0 and got["bare"].cpu_us == []
    assert _calls(Row("(x)", "srv", "ops/s", got["sandbox"], got["bare"])) == "1 · 2"
    assert _calls(Row("(x)", "srv", "ops/s", got["sandbox"], got["bare"], Samples([1.0]), calls_unit="batch")) \
        == "1 · 2 · - per batch"
    assert _calls(Row("(x)", "srv", "ops/s", Samples([1.0]), Samples([1.0]))) == "-"
