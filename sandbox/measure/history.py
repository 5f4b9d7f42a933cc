"""The operation history of a run, in Jepsen's model: every operation is an invoke, then ok, fail or info.

ok   = the store acknowledged the operation;
fail = the store answered with an error: the operation did not happen (as far as the client knows);
info = the outcome is unknown to the client: its own deadline expired, or the connection broke.

TimedStore tells its listeners about an operation once it has finished, so both lines of a pair are
written then: the invoke line carries the invoke time, the completion line the completion time, and
`op` pairs them. Lines are therefore in completion order; sort by `time` for invocation order.
Times are nanoseconds since the history was opened (the header line gives the wall clock then).

Memory stays bounded by the file's write buffer plus one small entry per order and store in
`WriteOutcomes`, which is what the checker needs (the full history lives only in the file).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import IO, Any

from sandbox.measure.timing import OpEvent

FLUSH_EVERY_S = 1.0
BUFFER_BYTES = 256 * 1024


class WriteOutcome(IntEnum):
    """What the client learnt about the writes of one order to one store, strongest last.

    Several attempts fold into one: acknowledged once is acknowledged; otherwise an attempt whose
    connection broke leaves the outcome unknown; otherwise the client saw it fail (an error from the
    store, or its own deadline expiring)."""

    FAILED = 1  # the store answered with an error
    TIMED_OUT = 2  # the client gave up waiting (outcome `info`): its caller was told "failed"
    CONNECTION_LOST = 3  # the connection broke or was refused (outcome `info`): nobody knows
    ACKNOWLEDGED = 4


def outcome_of(event: OpEvent) -> WriteOutcome:
    if event.outcome == "ok":
        return WriteOutcome.ACKNOWLEDGED
    if event.outcome == "fail":
        return WriteOutcome.FAILED
    # TimedStore writes errors as "TypeName: message"; any client-side deadline is a timeout,
    # whoever set it (ours, or a driver's such as pymongo's server selection timeout).
    kind = (event.error or "").split(":", 1)[0]
    return WriteOutcome.TIMED_OUT if "Timeout" in kind else WriteOutcome.CONNECTION_LOST


@dataclass
class WriteOutcomes:
    """Per store: order id -> the folded outcome of its writes. What the checker works from."""

    by_store: dict[str, dict[str, WriteOutcome]] = field(default_factory=dict)

    def note(self, store: str, keys: tuple[str, ...], outcome: WriteOutcome) -> None:
        seen = self.by_store.setdefault(store, {})
        for key in keys:
            # Interned: the same id from five stores' streams is one string in memory, not five.
            key = sys.intern(key)
            if outcome > seen.get(key, 0):
                seen[key] = outcome

    def of(self, store: str) -> dict[str, WriteOutcome]:
        return self.by_store.get(store, {})

    def counts(self, store: str) -> dict[str, int]:
        out = {o.name.lower(): 0 for o in WriteOutcome}
        for outcome in self.of(store).values():
            out[outcome.name.lower()] += 1
        return out


class OpHistory:
    """Streams operations to a JSON-lines file and keeps the write outcomes the checker needs.

    Use `listener` as a TimedStore listener; call `note_fault` for injected faults (Jepsen's nemesis).
    """

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.outcomes = WriteOutcomes()
        self.operations = 0
        self._origin_ns = time.perf_counter_ns()
        self._file: IO[str] | None = open(path, "w", buffering=BUFFER_BYTES)  # noqa: SIM115 (closed in close())
        self._last_flush = time.monotonic()
        self._write({"type": "header", "model": "jepsen invoke/ok/fail/info", "time_unit": "ns",
                     "wall_clock_at_0": time.time()})

    def relative_ns(self, perf_ns: int) -> int:
        return perf_ns - self._origin_ns

    def listener(self, event: OpEvent) -> None:
        op = self.operations
        self.operations += 1
        self._write({"type": "invoke", "op": op, "f": event.op, "store": event.store, "value": list(event.keys),
                     "time": event.start_ns - self._origin_ns})
        done: dict[str, Any] = {"type": event.outcome, "op": op, "f": event.op, "store": event.store,
                                "time": event.end_ns - self._origin_ns}
        if event.error:
            done["error"] = event.error
        self._write(done)
        if event.op == "write":
            self.outcomes.note(event.store, event.keys, outcome_of(event))

    def note_fault(self, store: str, action: str, detail: str = "") -> None:
        self._write({"type": "info", "process": "nemesis", "f": action, "store": store, "value": detail,
                     "time": time.perf_counter_ns() - self._origin_ns})

    def _write(self, line: dict[str, Any]) -> None:
        if self._file is None:
            return  # closed: a straggling operation after the run is not worth a crash
        self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_EVERY_S:
            self._file.flush()
            self._last_flush = now

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read_history(path: Path) -> list[dict[str, Any]]:
    """Every line of a history file (for tests and offline analysis of small runs)."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
