"""Seeded transactions on a small, hot key space, as Elle's generators make them: short transactions of
reads and appends (or writes), every written value unique per key, so that a read names its writer.

A key takes at most `writes_per_key` writes, then retires and a fresh key takes its place: the lists
a read returns stay short (the checker's cost grows with what reads return), and new keys keep
starting from the initial state, where many anomalies show first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sandbox.measure.isolation.history import APPEND, READ, WRITE, Mop


@dataclass(frozen=True)
class TxnSpec:
    model: str = "list-append"  # or "rw-register"
    keys: int = 8  # keys in play at once: fewer means more contention, more anomalies where allowed
    max_ops: int = 4  # micro-operations per transaction, 1..max_ops
    read_share: float = 0.5
    writes_per_key: int = 32

    def __post_init__(self) -> None:
        if self.model not in ("list-append", "rw-register"):
            raise ValueError(f"model {self.model!r}: list-append or rw-register")
        if self.keys < 1 or self.max_ops < 1 or self.writes_per_key < 1 or not 0 <= self.read_share <= 1:
            raise ValueError("keys, max_ops and writes_per_key must be >= 1 and read_share within 0..1")


@dataclass
class TxnGenerator:
    """`next()` gives the next transaction's micro-operations (reads unfilled); same seed, same stream."""

    spec: TxnSpec = field(default_factory=TxnSpec)
    seed: int = 0
    _rng: random.Random = field(init=False, repr=False)
    _active: list[int] = field(init=False, repr=False)
    _writes: dict[int, int] = field(init=False, repr=False)  # key -> values written so far
    _next_key: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._active = list(range(self.spec.keys))
        self._writes = {}
        self._next_key = self.spec.keys

    def _written(self, slot: int) -> tuple[int, int]:
        """A write to the key in this slot: (key, its next unique value); retires the key when full."""
        key = self._active[slot]
        n = self._writes.get(key, 0) + 1
        self._writes[key] = n
        if n >= self.spec.writes_per_key:
            del self._writes[key]
            self._active[slot] = self._next_key
            self._next_key += 1
        return key, n

    def next(self) -> tuple[Mop, ...]:
        rng, spec = self._rng, self.spec
        op = APPEND if spec.model == "list-append" else WRITE
        out: list[Mop] = []
        for _ in range(rng.randint(1, spec.max_ops)):
            slot = rng.randrange(spec.keys)
            if rng.random() < spec.read_share:
                out.append((READ, self._active[slot], None))
            else:
                key, v = self._written(slot)
                out.append((op, key, v))
        return tuple(out)
