"""The load driver returns what it measured (no writing into the timing wrapper's stats), and the timeline
draws through the progress protocol, whoever implements it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sandbox.measure.driver import LoadOutcome, write_everywhere
from sandbox.measure.latency import OpStats, clear, new_histogram
from sandbox.measure.load import LoadPlan
from sandbox.measure.progress import Bar
from sandbox.measure.timeline import Timeline
from sandbox.measure.timing import TimedStore
from tests.helpers import dataset, noop_store


@dataclass
class RecordingBar:
    label: str
    total: int | None
    shown: list[tuple[int, str]] = field(default_factory=list)
    advanced: int = 0

    def advance(self, n: int = 1) -> None:
        self.advanced += n

    def show(self, completed: int, text: str) -> None:
        self.shown.append((completed, text))


@dataclass
class RecordingProgress:
    bars: list[RecordingBar] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def bar(self, label: str, total: int | None) -> Bar:
        self.bars.append(RecordingBar(label, total))
        return self.bars[-1]

    def note(self, text: str) -> None:
        self.notes.append(text)


async def test_the_driver_returns_sent_elapsed_and_client_load_per_store() -> None:
    stores = [TimedStore(noop_store(ns)) for ns in ("a", "b")]
    stores[1].store.name = "noop2"  # two stores in one run need two names
    counted: dict[str, int] = {}

    def advance(store: str, n: int) -> None:
        counted[store] = counted.get(store, 0) + n

    outcomes = await write_everywhere(stores, dataset(250, seed=3), 4, 10, advance,
                                      plan=LoadPlan(4, rate=2000))
    assert set(outcomes) == {"noop", "noop2"} and counted == {"noop": 250, "noop2": 250}
    for ts in stores:
        outcome = outcomes[ts.name]
        assert isinstance(outcome, LoadOutcome) and outcome.sent == 250
        assert outcome.elapsed_s > 0.01 and outcome.client is not None and outcome.client.target_rate == 2000
        assert ts.op("write").ok == 25 and ts.op("write").items == 250  # the histograms stay TimedStore's
        assert LoadOutcome.from_json(outcome.to_json()).to_json() == outcome.to_json()  # the worker wire format


async def test_the_timeline_draws_one_bar_per_store_through_the_progress_protocol() -> None:
    progress = RecordingProgress()
    stats = OpStats()
    timeline = Timeline("write", None, progress, total_ops=100)
    timeline.watch("redis", "write", stats)
    async with timeline:
        stats.pending[0].extend([2_000_000] * 7)
        stats.pending[1].extend([1_000_000] * 7)
        stats.pending[2].extend([0] * 7)
        stats.ok = 7
        await asyncio.sleep(0.1)
    [bar] = progress.bars
    assert bar.label.split() == ["write", "redis"] and bar.total == 100
    completed, text = bar.shown[-1]
    assert completed == 7 and "redis" in text and "p99 2.00 ms" in text


def test_interval_histograms_are_two_pairs_reused_for_the_whole_run() -> None:
    """A long run must not allocate histograms per second (docs/measurement.md, "Soak"): the timeline's
    intervals alternate between two pairs, each emptied before it is filled again."""
    stats = OpStats()
    seen = set()
    for i in range(1, 7):
        stats.pending[0].extend([i * 1_000_000] * i)
        stats.pending[1].extend([i * 500_000] * i)
        stats.pending[2].extend([0] * i)
        response, service = stats.take_interval()
        for hist, us in ((response, i * 1000), (service, i * 500)):
            fresh = new_histogram()  # what this interval alone would hold
            fresh.record_value(us, i)
            assert (hist.get_total_count(), hist.get_min_value(), hist.get_max_value()) == \
                (fresh.get_total_count(), fresh.get_min_value(), fresh.get_max_value())
        seen.add((id(response), id(service)))
    assert len(seen) == 2
    assert stats.response.get_total_count() == sum(range(1, 7))  # the run's histogram keeps everything
    cleared = new_histogram()
    cleared.record_value(12_345)
    clear(cleared)
    assert list(cleared.counts) == list(new_histogram().counts) and cleared.get_total_count() == 0
    cleared.record_value(7)
    assert cleared.get_min_value() == cleared.get_max_value() == 7


async def test_the_timeline_keeps_its_rows_in_memory_only_when_asked() -> None:
    for keep in (False, True):
        stats = OpStats()
        timeline = Timeline("write", None, RecordingProgress(), keep_rows=keep)
        timeline.watch("redis", "write", stats)
        async with timeline:
            stats.pending[0].append(1_000_000)
            stats.pending[1].append(1_000_000)
            stats.pending[2].append(0)
            stats.ok = 1
        assert len(timeline.rows) == (1 if keep else 0)
