"""Latency recording with HdrHistogram: 1 us to 60 s at 3 significant digits, merged exactly.

Three times are kept for every (store, operation), after Rally and NoSQLBench:

- response time: from the operation's INTENDED start to the store's answer. In an open-loop run the
  intended start comes from the arrival schedule, so time an operation spent waiting for a free worker
  (a stalled store, a client that cannot keep up) is counted: coordinated omission is corrected.
  In a closed-loop run the intended start is when the worker began the operation.
- service time: from the moment the adapter was called (the send) to its answer. What a closed-loop
  tool such as redis-benchmark reports; it hides queueing.
- processing time: client work on the operation before the send, from the moment a worker picked it
  up: generating the order(s), building the batch, the timing wrapper's own bookkeeping.

response = waiting + processing + service, where waiting (schedule lag) is the time from the intended
start until a worker picked the operation up; see sandbox.measure.load.

Failed and unknown-outcome operations keep their response times too, in histograms of their own: during
an outage the calls that waited the full deadline are the story, and a p99 over successes alone hides
them. `all_attempts` merges the three for a p99 over everything that was tried.
"""

from __future__ import annotations

import base64
import ctypes
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US, HIGHEST_US, DIGITS = 1, 60_000_000, 3
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
# Raw times wait in plain lists and go into the histograms in bulk (record_many_ns): HdrHistogram's
# record_value costs ~1.7 us in Python, a list append ~30 ns, and a Counter over a buffer collapses repeats.
FLUSH_EVERY = 65_536


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def clear(hist: HdrHistogram) -> None:
    """Empty a histogram in place, as HdrHistogram.reset() does but with one memset instead of a Python
    loop over its 17,408 counters (0.8 ms, on the event loop, twice a second per store)."""
    ctypes.memset(hist.counts, 0, ctypes.sizeof(hist.counts))
    hist.total_count = 0
    hist.min_value = sys.maxsize
    hist.max_value = 0
    hist.start_time_stamp_msec = sys.maxsize
    hist.end_time_stamp_msec = 0


def record_us(hist: HdrHistogram, nanoseconds: int) -> None:
    # Clamp into range: a sub-microsecond no-op still counts as 1 us, a stall past 60 s as 60 s.
    hist.record_value(min(max(nanoseconds // 1000, LOWEST_US), HIGHEST_US))


def record_many_ns(hists: tuple[HdrHistogram, ...], nanoseconds: list[int]) -> None:
    """Record many times at once; exactly the same histogram as recording them one by one.

    HdrHistogram's record_value() costs ~1.7 us in Python (its bucket index goes through five method
    calls), paid per distinct value and histogram: a run's flush records ~5 histograms, and latencies
    spread over thousands of distinct microseconds. Here each distinct value's bucket index is worked
    out once, with record_value()'s own arithmetic (int.bit_length() for its leading-zero count), and
    the counts go straight into each histogram's counts array with the totals record_value() keeps.
    tests/test_measure.py checks the result against record_value() one by one.
    """
    if not nanoseconds or not hists:
        return
    counts = Counter(map((1000).__rfloordiv__, nanoseconds))  # ns // 1000, counted in C
    clamped: Counter[int] = Counter()
    for value, count in counts.items():
        clamped[min(max(value, LOWEST_US), HIGHEST_US)] += count
    layout = hists[0]  # every histogram here has the same range and precision (new_histogram)
    mask, unit = layout.sub_bucket_mask, layout.unit_magnitude
    half_magnitude, half_count = layout.sub_bucket_half_count_magnitude, layout.sub_bucket_half_count
    by_index: list[tuple[int, int]] = []
    for value, count in clamped.items():
        bucket = (value | mask).bit_length() - unit - (half_magnitude + 1)
        by_index.append((((bucket + 1) << half_magnitude) + (value >> (bucket + unit)) - half_count, count))
    total, low, high = len(nanoseconds), min(clamped), max(clamped)
    for hist in hists:
        cells = hist.counts
        for index, count in by_index:
            cells[index] += count
        hist.total_count += total
        hist.min_value = min(hist.min_value, low)
        hist.max_value = max(hist.max_value, high)


def summarize(hist: HdrHistogram) -> dict[str, float | None]:
    """min / percentiles / max in milliseconds (None when nothing was recorded)."""
    if hist.get_total_count() == 0:
        return {"min": None, **{f"p{p:g}": None for p in PERCENTILES}, "max": None}
    ms = 1000.0
    out: dict[str, float | None] = {"min": hist.get_min_value() / ms}
    for p in PERCENTILES:
        out[f"p{p:g}"] = hist.get_value_at_percentile(p) / ms
    out["max"] = hist.get_max_value() / ms
    return out


def encode(hist: HdrHistogram) -> str:
    """HdrHistogram's standard compressed base64 ("HISTF..."): `HdrHistogram.decode(text)` in any of its
    libraries reads it as is, so every percentile can be plotted later."""
    return hist.encode().decode() if hist.get_total_count() else ""


def decode(text: str) -> HdrHistogram:
    """The inverse of encode(): a histogram to add() into another (exact merge across processes)."""
    hist = new_histogram()
    if text:
        if not text.startswith("HIST"):  # results folders written before the standard form: base64 twice
            text = base64.b64decode(text).decode()
        hist.add(HdrHistogram.decode(text))
    return hist


@dataclass
class OpStats:
    """Outcomes and the three times of one kind of operation against one store."""

    response: HdrHistogram = field(default_factory=new_histogram)  # intended start -> answer
    service: HdrHistogram = field(default_factory=new_histogram)  # send -> answer
    processing: HdrHistogram = field(default_factory=new_histogram)  # picked up -> send
    failed_response: HdrHistogram = field(default_factory=new_histogram)  # intended start -> the error
    unknown_response: HdrHistogram = field(default_factory=new_histogram)  # intended start -> timeout / broken link
    ok: int = 0
    failed: int = 0  # the store answered with an error
    unknown: int = 0  # timed out or lost the connection: the write may or may not have landed
    items: int = 0  # orders carried by the successful operations (batches carry several)
    warmup: int = 0  # operations intended to start during the warm-up: counted here only
    warmup_errors: int = 0  # of those, the ones that failed or timed out (a store failing from the start)
    first_errors: list[str] = field(default_factory=list)
    # Times (ns) of successful operations not yet in the histograms; flush() moves them.
    pending: tuple[list[int], list[int], list[int]] = field(default_factory=lambda: ([], [], []), repr=False)
    # Per-interval histograms for the per-second timeline (response, service); swapped out by take_interval()
    # with a spare pair, both reused for the whole run. A histogram is a 136 kB counts array that only
    # the cyclic GC frees (it and its encoder refer to each other): a new pair every second per store
    # made the client's RSS creep for the whole of a long run (docs/measurement.md, "Soak").
    interval: tuple[HdrHistogram, HdrHistogram] = field(
        default_factory=lambda: (new_histogram(), new_histogram()), repr=False)
    _spare: tuple[HdrHistogram, HdrHistogram] | None = field(default=None, repr=False)  # made at the first take

    @property
    def latency(self) -> HdrHistogram:
        """The latency users should read: response time (Rally's "latency", wrk2's corrected latency)."""
        self.flush()
        return self.response

    def all_attempts(self) -> HdrHistogram:
        """Response times of every measured operation, whatever its outcome."""
        merged = new_histogram()
        for hist in (self.latency, self.failed_response, self.unknown_response):
            merged.add(hist)
        return merged

    def record_error(self, nanoseconds: int, unknown: bool, exc: BaseException) -> None:
        """One failed (the store said no) or unknown-outcome (timeout, broken link) operation."""
        if unknown:
            self.unknown += 1
            record_us(self.unknown_response, nanoseconds)
        else:
            self.failed += 1
            record_us(self.failed_response, nanoseconds)
        self.note_error(exc)

    def flush(self) -> None:
        responses, services, processings = self.pending
        if not responses:
            return
        record_many_ns((self.response, self.interval[0]), responses)
        record_many_ns((self.service, self.interval[1]), services)
        record_many_ns((self.processing,), processings)
        responses.clear()
        services.clear()
        processings.clear()

    def take_interval(self) -> tuple[HdrHistogram, HdrHistogram]:
        """Response and service histograms of the operations since the last call. They are reused: read
        (or copy) them before the next call, which empties them for the interval after."""
        self.flush()
        taken, spare = self.interval, self._spare
        if spare is None:
            spare = (new_histogram(), new_histogram())
        else:
            for hist in spare:
                clear(hist)
        self.interval, self._spare = spare, taken
        return taken

    def note_error(self, exc: BaseException) -> None:
        if len(self.first_errors) < 3:
            text = str(exc).splitlines()[0][:200] if str(exc) else ""
            self.first_errors.append(f"{type(exc).__name__}: {text}".rstrip(": "))

    def merge(self, other: OpStats) -> None:
        self.flush()
        other.flush()
        self.response.add(other.response)
        self.service.add(other.service)
        self.processing.add(other.processing)
        self.failed_response.add(other.failed_response)
        self.unknown_response.add(other.unknown_response)
        self.ok += other.ok
        self.failed += other.failed
        self.unknown += other.unknown
        self.items += other.items
        self.warmup += other.warmup
        self.warmup_errors += other.warmup_errors
        self.first_errors = (self.first_errors + other.first_errors)[:3]

    def to_json(self, elapsed_s: float = 0.0, client: dict[str, Any] | None = None) -> dict[str, Any]:
        """The counts and histograms; elapsed_s and the client's load (ClientLoad.to_json()) come from
        whoever drove the phase (sandbox.measure.driver.LoadOutcome), for the throughputs."""
        self.flush()
        return {
            "ok": self.ok, "failed": self.failed, "unknown": self.unknown, "orders": self.items,
            "warmup_ops": self.warmup, "warmup_errors": self.warmup_errors, "elapsed_s": round(elapsed_s, 3),
            "throughput_ops_s": round(self.ok / elapsed_s, 1) if elapsed_s else None,
            "throughput_orders_s": round(self.items / elapsed_s, 1) if elapsed_s else None,
            # latency_ms is response time: from the intended start (see the module docstring).
            "latency_ms": summarize(self.response), "service_ms": summarize(self.service),
            "processing_ms": summarize(self.processing),
            # Response times of the operations that did not succeed, and over every attempt.
            "failed_ms": summarize(self.failed_response), "unknown_ms": summarize(self.unknown_response),
            "all_attempts_ms": summarize(self.all_attempts()),
            "client": client, "flags": client["flags"] if client else [],
            "first_errors": self.first_errors,
            "hdr": encode(self.response), "hdr_service": encode(self.service),
            "hdr_processing": encode(self.processing),
            "hdr_failed": encode(self.failed_response), "hdr_unknown": encode(self.unknown_response),
        }
