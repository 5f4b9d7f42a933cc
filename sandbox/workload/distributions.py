"""Key distributions for operation mixes, after YCSB's request distributions.

Each picks an index in [0, n) with a caller's random.Random, so a seeded stream draws the same keys.
n may grow between draws (inserts extend the key space); the zipfian constant grows with it.

- uniform: every key equally likely.
- zipfian: popularity by rank follows 1/rank^skew (Gray et al.'s generator, as YCSB's ZipfianGenerator);
  ranks are scattered over the key space by a bijection, so the hot keys are not all the oldest orders
  (YCSB's ScrambledZipfianGenerator).
- latest: zipfian by recency: the newest key is the most popular (YCSB's SkewedLatestGenerator).
- hotspot: a hot fraction of the keys (the lowest indexes) gets a given share of the draws, uniformly
  within each set (YCSB's HotspotIntegerGenerator).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Protocol

from sandbox.errors import UsageError

DISTRIBUTIONS = ("uniform", "zipfian", "latest", "hotspot")
SCRAMBLE_PRIME = 2**61 - 1  # a prime above any key count: multiplying by it mod n permutes [0, n)


@dataclass(frozen=True)
class KeyDistribution:
    """Which keys a mix's operations touch; the parameters that do not apply to `name` are ignored."""

    name: str = "uniform"
    skew: float = 0.99  # zipfian, latest: YCSB's default constant
    hot_fraction: float = 0.2  # hotspot: the share of keys that are hot
    hot_share: float = 0.8  # hotspot: the share of operations that go to them

    def validated(self) -> KeyDistribution:
        if self.name not in DISTRIBUTIONS:
            raise UsageError(f"unknown key distribution {self.name!r}: choose from {', '.join(DISTRIBUTIONS)}")
        if not 0 < self.skew < 1:
            raise UsageError(f"skew must be above 0 and below 1 (YCSB's zipfian generator), got {self.skew:g}")
        if not 0 < self.hot_fraction < 1:
            raise UsageError(f"hot_fraction must be above 0 and below 1, got {self.hot_fraction:g}")
        if not 0 <= self.hot_share <= 1:
            raise UsageError(f"hot_share must be from 0 to 1, got {self.hot_share:g}")
        return self

    def sampler(self, seed: int) -> Sampler:
        """A sampler for this distribution; `seed` only scatters zipfian ranks over the keys."""
        if self.name == "uniform":
            return Uniform()
        if self.name == "zipfian":
            return ScrambledZipfian(self.skew, seed)
        if self.name == "latest":
            return Latest(self.skew)
        return Hotspot(self.hot_fraction, self.hot_share)


class Sampler(Protocol):
    def pick(self, rng: random.Random, n: int) -> int:
        """An index in [0, n); n >= 1."""


class Uniform:
    def pick(self, rng: random.Random, n: int) -> int:
        return rng.randrange(n)


class Zipfian:
    """Rank 0 is the most popular: P(rank r) is proportional to 1 / (r + 1)^skew."""

    def __init__(self, skew: float):
        self.skew = skew
        self.alpha = 1.0 / (1.0 - skew)
        self.zeta2 = 1.0 + 0.5**skew
        self.n = 0
        self.zetan = 0.0
        self.eta = 0.0

    def _grow(self, n: int) -> None:
        # Incremental: a growing key space costs only its new terms (YCSB does the same).
        self.zetan += math.fsum(1.0 / (i + 1) ** self.skew for i in range(self.n, n))
        self.n = n
        self.eta = (1 - (2.0 / n) ** (1 - self.skew)) / (1 - self.zeta2 / self.zetan) if n > 1 else 0.0

    def rank(self, rng: random.Random, n: int) -> int:
        if n != self.n:
            if n < self.n:  # a smaller key space: start again (rare; never in a growing stream)
                self.n, self.zetan = 0, 0.0
            self._grow(n)
        u = rng.random()
        uz = u * self.zetan
        if uz < 1.0 or n == 1:
            return 0
        if uz < self.zeta2:
            return 1
        return min(n - 1, int(n * (self.eta * u - self.eta + 1) ** self.alpha))


class ScrambledZipfian:
    def __init__(self, skew: float, seed: int):
        self.zipf = Zipfian(skew)
        self.offset = random.Random(f"{seed}:scramble").getrandbits(60)

    def key_of_rank(self, rank: int, n: int) -> int:
        return (rank * SCRAMBLE_PRIME + self.offset) % n

    def pick(self, rng: random.Random, n: int) -> int:
        return self.key_of_rank(self.zipf.rank(rng, n), n)


class Latest:
    def __init__(self, skew: float):
        self.zipf = Zipfian(skew)

    def pick(self, rng: random.Random, n: int) -> int:
        return n - 1 - self.zipf.rank(rng, n)


class Hotspot:
    def __init__(self, hot_fraction: float, hot_share: float):
        self.hot_fraction = hot_fraction
        self.hot_share = hot_share

    def hot_keys(self, n: int) -> int:
        return max(1, min(n, int(n * self.hot_fraction)))

    def pick(self, rng: random.Random, n: int) -> int:
        hot = self.hot_keys(n)
        if hot == n or rng.random() < self.hot_share:
            return rng.randrange(hot)
        return hot + rng.randrange(n - hot)
