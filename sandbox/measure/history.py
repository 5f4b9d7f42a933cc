"""The operation history of a run, in Jepsen's model: every operation is an invoke, then ok, fail or info.

ok   = the store acknowledged the operation;
fail = the store answered with an error, or the call was refused before anything was sent (connection
       refused, no server to send it to): the operation did not happen (as far as the client knows);
info = the outcome is unknown to the client: its own deadline expired, or the connection broke after sending.

TimedStore tells its listeners about an operation once it has finished, so both lines of a pair are
written then: the invoke line carries the invoke time, the completion line the completion time, and
`op` pairs them. Lines are therefore in completion order; sort by `time` for invocation order.
Times are nanoseconds since the history was opened (the header line gives the wall clock then).

Memory stays bounded by the file's write buffer plus one small entry per root instance and store in
`WriteOutcomes` (by the root's key), which is what the checker needs (the full history lives only in the file).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field, is_dataclass
from enum import IntEnum
from pathlib import Path
from typing import IO, Any

from sandbox.measure.timing import OpEvent

FLUSH_EVERY_S = 1.0
BUFFER_BYTES = 256 * 1024


class WriteOutcome(IntEnum):
    """What the client learnt about the writes of one root instance to one store, strongest last.

    Several attempts fold into one: acknowledged once is acknowledged; otherwise an attempt whose
    connection broke leaves the outcome unknown; otherwise the client saw it fail (an error from the
    store, or its own deadline expiring)."""

    FAILED = 1  # the store answered with an error, or the call was refused before it was sent
    TIMED_OUT = 2  # the client gave up waiting (outcome `info`): its caller was told "failed"
    CONNECTION_LOST = 3  # the connection broke after sending (outcome `info`): nobody knows
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
    """Per store: root key (as text) -> the folded outcome of its writes. What the checker works from."""

    by_store: dict[str, dict[str, WriteOutcome]] = field(default_factory=dict)

    def note(self, store: str, keys: tuple[str, ...], outcome: WriteOutcome) -> None:
        seen = self.by_store.setdefault(store, {})
        for key in keys:
            # Interned: the same key from five stores' streams is one string in memory, not five.
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


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """The value of an update: set the order's status at this version (applied only over an older one)."""

    order_id: str
    status: str
    version: int


@dataclass(frozen=True, slots=True)
class StockTake:
    """The value of a stock decrement: take these quantities for one order's items, all or none."""

    order_id: str
    items: tuple[tuple[str, int], ...]  # (product id, quantity)


@dataclass(frozen=True, slots=True)
class Bump:
    """The value of an increment: add `amount` to one instance's counter."""

    key: str
    amount: int


@dataclass(frozen=True, slots=True)
class Inserted:
    """The value of an insert that sets no state (a reading, a post): the key of the instance it adds."""

    key: str


@dataclass(slots=True)
class ReadThenUpdate:
    """The value of a read-modify-write: the update its client made from what it read, set once it has read
    (None: it read nothing to change, so it changed nothing)."""

    key: str
    update: StatusUpdate | None = None


@dataclass
class OrderUpdates:
    """What the client asked of one order and learnt back, per version (1 is the insert)."""

    asked: dict[int, str] = field(default_factory=dict)  # version -> status asked for
    applied: int = 0  # the highest version the store acknowledged having applied (0: none)
    unknown: set[int] = field(default_factory=set)  # versions whose outcome the client does not know
    failed: set[int] = field(default_factory=set)  # versions the store answered with an error
    refused: set[int] = field(default_factory=set)  # acknowledged but not applied (an equal or newer version)


@dataclass
class StockTakes:
    """Per product: quantities taken by acknowledged decrements, and by ones whose outcome is unknown."""

    acknowledged: dict[str, int] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)
    refused: int = 0  # acknowledged as "not enough stock": nothing taken
    failed: int = 0


@dataclass
class UpdateLog:
    """Every update and stock decrement of a run with its outcome, per store: what the update checker reads."""

    orders: dict[str, dict[str, OrderUpdates]] = field(default_factory=dict)
    stock: dict[str, StockTakes] = field(default_factory=dict)
    bumps: dict[str, StockTakes] = field(default_factory=dict)  # per store: increments per key (as amounts)
    inserts: dict[str, dict[str, str]] = field(default_factory=dict)  # per store: key -> ok / fail / info
    # Orders of the data set loaded before the run (acknowledged on every store), by the status they were
    # loaded with: noted when the run first updates them, not for the whole data set.
    preloaded: dict[str, str] = field(default_factory=dict)

    def note_preloaded(self, order_id: str, status: str) -> None:
        self.preloaded[sys.intern(order_id)] = status

    def of(self, store: str) -> dict[str, OrderUpdates]:
        """Per order id: its updates on this store, with the preloaded insert as version 1."""
        out = self.orders.get(store, {})
        for order_id, entry in out.items():
            if 1 not in entry.asked and order_id in self.preloaded:
                entry.asked[1] = self.preloaded[order_id]
                entry.applied = max(entry.applied, 1)
        return out

    def note(self, event: OpEvent) -> None:
        value = event.value
        if isinstance(value, ReadThenUpdate):
            value = value.update
        if isinstance(value, StatusUpdate):
            self._update(event, value)
        elif isinstance(value, StockTake):
            self._take(event, value)
        elif isinstance(value, Bump):
            self._bump(event, value)
        elif isinstance(value, Inserted):
            seen = self.inserts.setdefault(event.store, {})
            seen[sys.intern(value.key)] = event.outcome

    def _update(self, event: OpEvent, value: StatusUpdate) -> None:
        entry = self.orders.setdefault(event.store, {}).setdefault(sys.intern(value.order_id), OrderUpdates())
        entry.asked[value.version] = value.status
        if event.outcome == "ok":
            if event.result is not False:  # an insert answers nothing (None); a gated update True or False
                entry.applied = max(entry.applied, value.version)
            else:
                entry.refused.add(value.version)
        elif event.outcome == "info":
            entry.unknown.add(value.version)
        else:
            entry.failed.add(value.version)

    def _take(self, event: OpEvent, value: StockTake) -> None:
        takes = self.stock.setdefault(event.store, StockTakes())
        if event.outcome == "ok" and not event.result:
            takes.refused += 1
            return
        if event.outcome == "fail":
            takes.failed += 1
            return
        into = takes.acknowledged if event.outcome == "ok" else takes.unknown
        for product_id, quantity in value.items:
            into[product_id] = into.get(product_id, 0) + quantity


    def _bump(self, event: OpEvent, value: Bump) -> None:
        bumps = self.bumps.setdefault(event.store, StockTakes())
        if event.outcome == "fail" or (event.outcome == "ok" and event.result is None):  # None: no such instance
            bumps.failed += 1
            return
        into = bumps.acknowledged if event.outcome == "ok" else bumps.unknown
        into[value.key] = into.get(value.key, 0) + value.amount


class OpHistory:
    """Streams operations to a JSON-lines file and keeps the write outcomes the checker needs.

    Use `listener` as a TimedStore listener; call `note_fault` for injected faults (Jepsen's nemesis).
    """

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.outcomes = WriteOutcomes()
        self.updates = UpdateLog()
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
        value = asdict(event.value) if is_dataclass(event.value) else list(event.keys)  # type: ignore[arg-type]
        self._write({"type": "invoke", "op": op, "f": event.op, "store": event.store, "value": value,
                     "time": event.start_ns - self._origin_ns})
        done: dict[str, Any] = {"type": event.outcome, "op": op, "f": event.op, "store": event.store,
                                "time": event.end_ns - self._origin_ns}
        if event.error:
            done["error"] = event.error
        if event.value is not None and event.outcome == "ok":
            done["value"] = event.result if isinstance(event.result, bool | int | str) else None
        self._write(done)
        if event.op == "write":
            self.outcomes.note(event.store, event.keys, outcome_of(event))
        if event.value is not None:
            self.updates.note(event)

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
