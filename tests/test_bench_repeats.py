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
