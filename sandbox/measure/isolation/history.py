"""Transactional histories in Jepsen's model (the shape Elle checks).

An operation is `{process, type, f: txn, value, time, index}`. `type` is `invoke` when a client starts a
transaction and then one of `ok` (committed), `fail` (the store said it did not happen) or `info` (the
outcome is unknown: a timeout, a broken connection). `value` is a list of micro-operations:

    ("append", k, v)   append the unique element v to the list at key k   (list-append)
    ("r", k, None)     read k: None in the invocation, the list (or value) seen in an ok completion
    ("w", k, v)        write the unique value v to the register k          (read-write registers)

A process runs one transaction at a time, so an invocation pairs with the next completion of the same
process. After an `info` the transaction may still be running inside the store, so a runner should give
its next transaction a new process id (Jepsen adds the concurrency to it); the checker itself does not
rely on process order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

Key = int | str
Mop = tuple[str, Key, Any]
APPEND, READ, WRITE = "append", "r", "w"
COMPLETIONS = ("ok", "fail", "info")
TYPES = ("invoke", *COMPLETIONS)


class HistoryError(ValueError):
    """The history itself is malformed (not an anomaly of the store): the checker cannot interpret it."""


def append(key: Key, value: Any) -> Mop:
    return (APPEND, key, value)


def read(key: Key, value: Any = None) -> Mop:
    return (READ, key, value)


def write(key: Key, value: Any) -> Mop:
    return (WRITE, key, value)


@dataclass(frozen=True, slots=True)
class Op:
    """One line of the history."""

    index: int
    process: int
    type: str
    value: tuple[Mop, ...]
    time: int = 0  # ns since the history began
    f: str = "txn"


@dataclass(frozen=True, slots=True)
class Txn:
    """One transaction attempt: its invocation paired with its completion. What the checker works on."""

    id: int  # the invocation's index: "T<id>" in every finding
    process: int
    type: str  # ok, fail or info (an invocation that never completed counts as info)
    mops: tuple[Mop, ...]  # the completion's value for ok (reads filled in), the invocation's otherwise
    invoked: int
    completed: int | None = None

    @property
    def name(self) -> str:
        return f"T{self.id}"


def _check_mops(value: Any, where: str) -> tuple[Mop, ...]:
    if not isinstance(value, list | tuple):
        raise HistoryError(f"{where}: value must be a list of micro-operations, got {value!r}")
    mops = []
    for mop in value:
        if not isinstance(mop, list | tuple) or len(mop) != 3 or mop[0] not in (APPEND, READ, WRITE):
            raise HistoryError(f"{where}: {mop!r} is not [:append k v], [:r k v] or [:w k v]")
        mops.append(mop if isinstance(mop, tuple) else tuple(mop))
    return tuple(mops)


def _same_shape(invoked: tuple[Mop, ...], completed: tuple[Mop, ...]) -> bool:
    """A completion may fill in reads, nothing else: same micro-ops, same keys, same written values."""
    if len(invoked) != len(completed):
        return False
    return all(a[0] == b[0] and a[1] == b[1] and (a[0] == READ or a[2] == b[2])
               for a, b in zip(invoked, completed, strict=True))


@dataclass
class History:
    """The operations in the order they happened (a recorded history: each op's `index` is its position)."""

    ops: list[Op] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def txns(self) -> list[Txn]:
        """Invocations paired with completions, in invocation order."""
        pending: dict[int, Op] = {}
        done: list[Txn] = []
        for op in self.ops:
            if op.f != "txn":
                continue  # e.g. a nemesis's operations in a Jepsen history: not transactions
            where = f"op {op.index} (process {op.process})"
            if op.type == "invoke":
                if op.process in pending:
                    raise HistoryError(f"{where}: invoked while its transaction {pending[op.process].index} is "
                                       "still open (a process runs one transaction at a time)")
                pending[op.process] = op
            elif op.type in COMPLETIONS:
                start = pending.pop(op.process, None)
                if start is None:
                    raise HistoryError(f"{where}: completed ({op.type}) without an invocation")
                value = op.value if op.type == "ok" else start.value
                if op.type == "ok" and not _same_shape(start.value, value):
                    raise HistoryError(f"{where}: its completion {value!r} does not match its invocation "
                                       f"{start.value!r}")
                done.append(Txn(start.index, op.process, op.type, value, start.time, op.time))
            else:
                raise HistoryError(f"{where}: type {op.type!r} is none of {', '.join(TYPES)}")
        done += [Txn(op.index, op.process, "info", op.value, op.time) for op in pending.values()]
        done.sort(key=lambda t: t.id)
        return done


@dataclass
class Recorder:
    """What a store runner records into: `invoke` before it sends a transaction, `complete` when it knows.

        rec = Recorder()
        tid = rec.invoke(process, [append("x", 1), read("y")])
        rec.complete(tid, "ok", [append("x", 1), read("y", [3, 4])])   # or "fail" / "info", observed=None

    Times are the clock's nanoseconds since the recorder was made (monotonic by default; a simulation
    passes a counter). Not thread-safe: one event loop records, as the sandbox's drivers do.
    """

    clock: Callable[[], int] = time.monotonic_ns
    history: History = field(default_factory=History)
    _open: dict[int, Op] = field(default_factory=dict, repr=False)  # invocation index -> its op
    _busy: set[int] = field(default_factory=set, repr=False)  # processes with an open transaction
    _start: int | None = field(default=None, repr=False)

    def _now(self) -> int:
        now = self.clock()
        if self._start is None:
            self._start = now
        return now - self._start

    def invoke(self, process: int, txn: Sequence[Mop]) -> int:
        """Record an invocation; returns its id (its index in the history: "T<id>" in findings)."""
        if process in self._busy:
            raise HistoryError(f"process {process} already has an open transaction")
        op = Op(len(self.history.ops), process, "invoke", _check_mops(txn, "invoke"), self._now())
        self.history.ops.append(op)
        self._open[op.index] = op
        self._busy.add(process)
        return op.index

    def complete(self, id: int, type: str, observed: Sequence[Mop] | None = None) -> None:
        """Record the outcome: "ok" with what the transaction read (observed; None = nothing to fill in),
        "fail" (it did not happen) or "info" (unknown). For fail and info, what it read does not count."""
        start = self._open.get(id)
        if start is None:
            raise HistoryError(f"transaction {id} is not open")
        if type not in COMPLETIONS:
            raise HistoryError(f"transaction {id}: outcome {type!r} is none of {', '.join(COMPLETIONS)}")
        value = start.value if observed is None else _check_mops(observed, f"complete {id}")
        if not _same_shape(start.value, value):
            raise HistoryError(f"transaction {id}: observed {value!r} does not match invoked {start.value!r}")
        del self._open[id]  # only now: a refused completion leaves the transaction open
        self._busy.discard(start.process)
        self.history.ops.append(Op(len(self.history.ops), start.process, type, value, self._now()))

    @property
    def open(self) -> int:
        """Transactions invoked and not completed yet (they check as info)."""
        return len(self._open)
