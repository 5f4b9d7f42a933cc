"""What changing the shard count does to each placement scheme: keys moved, and keys per shard.

Growing N -> N+1 the least any scheme can move is the new shard's fair share, 1/(N+1) of the keys;
shrinking N -> N-1 it is the removed shard's keys, 1/N. A consistent scheme moves only those: every
moved key lands on the new shard (or leaves the removed one).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sandbox.workload.sharding import SCHEMES, hash64, place, rendezvous_add, rendezvous_best


@dataclass(frozen=True)
class Balance:
    """Keys per shard at one shard count."""

    shards: int
    mean: float
    max: int
    min: int

    @property
    def max_over_mean(self) -> float:
        return self.max / self.mean

    @classmethod
    def of(cls, placement: np.ndarray, shards: int) -> Balance:
        counts = np.bincount(placement, minlength=shards)
        return cls(shards, len(placement) / shards, int(counts.max()), int(counts.min()))


@dataclass(frozen=True)
class Movement:
    """One scheme going from one shard count to another."""

    scheme: str
    n_from: int
    n_to: int
    keys: int
    moved: int
    only_changed_shard: bool  # every moved key went to the new shard / came from the removed one
    before: Balance
    after: Balance

    @property
    def moved_fraction(self) -> float:
        return self.moved / self.keys

    @property
    def ideal(self) -> float:
        return 1 / max(self.n_from, self.n_to)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "moved_fraction": self.moved_fraction, "ideal": self.ideal,
                "max_over_mean_before": self.before.max_over_mean, "max_over_mean_after": self.after.max_over_mean}


def around(scheme: str, digests: np.ndarray, n: int, vnodes: int = 100) -> tuple[np.ndarray, ...]:
    """Placements at N-1, N and N+1 shards. Rendezvous adds shards one at a time instead of scoring
    every shard three times: the same result (its placement is the running maximum), a third of the work."""
    if scheme == "rendezvous":
        h = hash64(digests)
        out = [rendezvous_best(h, n - 1)]
        for new in (n - 1, n):
            out.append(rendezvous_add(h, *out[-1], new))
        return tuple(shard for shard, _ in out)
    return tuple(place(scheme, digests, m, vnodes) for m in (n - 1, n, n + 1))


def movement(scheme: str, before: np.ndarray, after: np.ndarray, n_from: int, n_to: int) -> Movement:
    moved = before != after
    if n_to > n_from:  # grown: the new shard is the last one
        only_changed = bool(np.all(after[moved] == n_to - 1))
    else:  # shrunk: the removed shard was the last one
        only_changed = bool(np.all(before[moved] == n_from - 1))
    return Movement(scheme, n_from, n_to, len(before), int(moved.sum()), only_changed,
                    Balance.of(before, n_from), Balance.of(after, n_to))


def grow_and_shrink(scheme: str, digests: np.ndarray, n: int, vnodes: int = 100) -> tuple[Movement, Movement]:
    """N -> N+1 and N -> N-1 for one scheme."""
    smaller, current, larger = around(scheme, digests, n, vnodes)
    return movement(scheme, current, larger, n, n + 1), movement(scheme, current, smaller, n, n - 1)


def moved_fraction_curve(digests: np.ndarray, ns: list[int], vnodes: int = 100) -> dict[str, list[float]]:
    """Fraction of keys moved growing N -> N+1, for each N, per scheme (the plot's data)."""
    curve: dict[str, list[float]] = {scheme: [] for scheme in SCHEMES}
    for n in ns:
        for scheme in SCHEMES:
            _, current, larger = around(scheme, digests, n, vnodes)
            curve[scheme].append(float(np.mean(current != larger)))
    return curve
