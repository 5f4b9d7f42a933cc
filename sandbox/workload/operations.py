"""The seeded operation stream of a mix: which operation comes next, on which order, with which version.

The stream is a function of (seed, mix, data-set size) like the order generator: every store is sent the
same operations, and a run can be reproduced. It runs ahead of the stores' answers, so it keeps its own
idea of each touched order's status and version (what a client would have asked for). Updates carry the
version they set: a store applies one only over an older version, so concurrent updates of one order
cannot regress it, and the checker knows which status each version stands for.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from sandbox.workload.generator import Workload
from sandbox.workload.mix import MixSpec
from sandbox.workload.model import OrderStatus

S = OrderStatus
# An order's next status for a plain `update` (YCSB A, B, F). A refunded order is final: an update
# rewrites its status at a newer version, so every update is a real write.
NEXT_STATUS = {S.PENDING: S.CONFIRMED, S.CONFIRMED: S.PROCESSING, S.PROCESSING: S.SHIPPED,
               S.SHIPPED: S.DELIVERED, S.DELIVERED: S.REFUNDED, S.CANCELLED: S.REFUNDED, S.REFUNDED: S.REFUNDED}
# The shop's transitions: the statuses an order must be in, and the one it moves to.
SHOP_TRANSITIONS = {"pay": ((S.PENDING,), S.CONFIRMED), "ship": ((S.CONFIRMED,), S.SHIPPED),
                    "cancel": ((S.PENDING, S.CONFIRMED), S.CANCELLED)}
KIND = {"browse": "latest", "pay": "update", "ship": "update", "cancel": "update"}


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation for every store. `name` is the mix's word (stats are kept per name), `kind` what the
    store is asked to do: read, update, insert, scan, latest, decrement, rmw or place."""

    seq: int
    name: str
    kind: str
    index: int  # the order's index in the workload (latest: the customer's index in the catalog)
    status: OrderStatus | None = None  # update / rmw: the status to set; insert / place: the status written
    version: int = 1  # update / rmw: the version to set (an inserted order is version 1)
    span: int = 0  # scan: time slots covered; latest: how many orders


class OperationStream:
    """Operations for a data set of `loaded` orders (indexes 0 .. loaded-1, written before the run)."""

    def __init__(self, workload: Workload, mix: MixSpec, loaded: int, seed: int, version_floor: int = 0):
        self.workload = workload
        self.mix = mix
        self.count = loaded  # orders that exist or are being inserted: new ones get the next index
        self.rng = random.Random(f"{seed}:mix")
        self.sampler = mix.distribution.sampler(seed)
        self.names = [name for name, _ in mix.proportions]
        self.cum: list[float] = []
        total = 0.0
        for _, share in mix.proportions:
            total += share
            self.cum.append(total)
        self.inserted_at: deque[tuple[int, int]] = deque()  # (seq, index) of inserts not yet settled
        self.settled = loaded  # orders older than settle_ops operations: safe to read and update
        self.state: dict[int, tuple[OrderStatus, int]] = {}  # touched orders: status and version asked for
        # The shop's orders in a state a transition starts from; they join once settled.
        self.pools: dict[OrderStatus, list[int]] = {S.PENDING: [], S.CONFIRMED: []}
        self.joining: deque[tuple[int, OrderStatus, int]] = deque()
        self.seq = 0
        # Orders this stream has not touched are taken to be at this version + 1: a stream that follows
        # another on the same data (a capacity search's steps) sets it above any version sent before.
        self.version_floor = version_floor

    def __iter__(self) -> Iterator[Operation]:
        while True:
            yield self.next()

    def next(self) -> Operation:
        seq = self.seq
        self.seq += 1
        self._settle(seq)
        r = self.rng.random()
        name = self.names[-1]
        for candidate, edge in zip(self.names, self.cum, strict=True):
            if r < edge:
                name = candidate
                break
        return self._make(seq, name)

    def _settle(self, seq: int) -> None:
        horizon = seq - self.mix.settle_ops
        while self.inserted_at and self.inserted_at[0][0] <= horizon:
            self.settled = self.inserted_at.popleft()[1] + 1
        while self.joining and self.joining[0][0] <= horizon:
            _, status, index = self.joining.popleft()
            if self.state[index][0] == status:  # still there (not moved on in the meantime)
                self.pools[status].append(index)

    def _key(self) -> int:
        return self.sampler.pick(self.rng, max(1, self.settled))

    def _status(self, index: int) -> tuple[OrderStatus, int]:
        if index not in self.state:
            self.state[index] = (self.workload.order(index).status, 1 + self.version_floor)
        return self.state[index]

    def _move(self, index: int, to: OrderStatus) -> int:
        version = self._status(index)[1] + 1
        self.state[index] = (to, version)
        return version

    def _insert(self, seq: int, status: OrderStatus | None) -> int:
        index = self.count
        self.count += 1
        self.inserted_at.append((seq, index))
        if status is not None:
            self.state[index] = (status, 1)
        return index

    def _make(self, seq: int, name: str) -> Operation:
        kind = KIND.get(name, name)
        if name in ("read", "decrement"):
            return Operation(seq, name, kind, self._key())
        if name in ("update", "rmw"):
            index = self._key()
            to = NEXT_STATUS[self._status(index)[0]]
            return Operation(seq, name, kind, index, to, self._move(index, to))
        if name == "insert":
            index = self._insert(seq, None)
            return Operation(seq, name, kind, index, self.workload.order(index).status)
        if name == "place":
            index = self._insert(seq, S.PENDING)
            self.joining.append((seq, S.PENDING, index))
            return Operation(seq, name, kind, index, S.PENDING)
        if name == "scan":
            return Operation(seq, name, kind, self._key(), span=self.rng.randint(1, self.mix.scan_max))
        if name in ("latest", "browse"):
            customers = len(self.workload.catalog.customers)
            return Operation(seq, name, kind, self.sampler.pick(self.rng, customers), span=self.mix.latest_n)
        return self._transition(seq, name)

    def _transition(self, seq: int, name: str) -> Operation:
        sources, to = SHOP_TRANSITIONS[name]
        while candidates := [s for s in sources if self.pools[s]]:
            source = candidates[self.rng.randrange(len(candidates))]
            pool = self.pools[source]
            at = self.rng.randrange(len(pool))
            pool[at], pool[-1] = pool[-1], pool[at]
            index = pool.pop()
            if self.state[index][0] == source:  # an `update` in the same mix may have moved it on
                break
        else:  # nothing to pay, ship or cancel yet: the shop takes an order instead
            return self._make(seq, "place")
        version = self._move(index, to)
        if to in self.pools:
            self.joining.append((seq, to, index))
        return Operation(seq, name, "update", index, to, version)


def scan_window_ms(op: Operation, spacing_ms: int) -> tuple[int, int]:
    """A scan's time range, in ms after the generator's epoch: from order `index`'s slot, `span` slots (the
    generator creates order i in [i * spacing_ms, i * spacing_ms + 10) ms, WorkloadSpec.spacing_ms)."""
    start = op.index * spacing_ms
    return start, start + op.span * spacing_ms
