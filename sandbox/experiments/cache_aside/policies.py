"""Cache-aside read and write paths, one class per policy.

Every read returns (label, value): `hit` (answered from the cache), `miss` (this reader loaded the
origin and filled the cache), `waited` (single-flight: another reader was loading; answered from the
cache after waiting), `early` (XFetch: a hit that chose to refresh before expiry), `fallback` (the cache
did not answer; read from the origin). Keys live under the run's namespace prefix only.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from dataclasses import dataclass
from typing import Protocol

from sandbox.experiments.cache_aside.origin import Origin, Value


class Cache(Protocol):
    """What a store playing the cache offers (its kind's `cache` role opens one, e.g. stores/redis/cache.py)."""

    errors: tuple[type[BaseException], ...]  # the cache did not answer: the reader falls back to the origin

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, value: str, ttl_ms: float) -> None: ...

    async def lock(self, key: str, token: str, ttl_ms: float) -> bool: ...  # set if absent, with expiry

    async def unlock(self, key: str, token: str) -> None: ...  # delete only if it still holds our token

    async def delete(self, key: str) -> None: ...

    async def exists(self, key: str) -> bool: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class PolicyConfig:
    ttl_ms: float = 1000.0
    jitter: float = 0.2  # ttl-jitter: each entry lives ttl * (1 ± jitter)
    lock_ms: float = 2000.0  # single-flight: the lock's own expiry, and how long a waiter waits
    poll_ms: float = 5.0  # single-flight: how often a waiter looks for the value
    beta: float = 1.0  # XFetch: > 1 favours earlier refreshes


class Policy:
    name = "ttl"
    description = "plain TTL: entries expire; every reader that misses loads the origin"

    def __init__(self, cache: Cache, origin: Origin, prefix: str, config: PolicyConfig,
                 rng: random.Random):
        self.cache = cache
        self.origin = origin
        self.prefix = prefix  # "<namespace>:cache:<policy>:"
        self.config = config
        self.rng = rng

    def key(self, root_key: str) -> str:
        return self.prefix + root_key

    def ttl_ms(self) -> float:
        return self.config.ttl_ms

    async def read(self, root_key: str) -> tuple[str, Value]:
        try:
            cached = await self.cache.get(self.key(root_key))
        except self.cache.errors:
            return "fallback", await self.origin.load(root_key, 0)
        if cached is not None:
            return await self.on_hit(root_key, Value.decode(cached))
        return await self.on_miss(root_key)

    async def on_hit(self, root_key: str, value: Value) -> tuple[str, Value]:
        return "hit", value

    async def on_miss(self, root_key: str) -> tuple[str, Value]:
        return "miss", await self.fill(root_key)

    async def fill(self, root_key: str) -> Value:
        ttl = self.ttl_ms()
        value = await self.origin.load(root_key, ttl)
        with contextlib.suppress(*self.cache.errors):  # the reader has its answer; the next one tries the cache again
            await self.cache.put(self.key(root_key), value.encode(), ttl)
        return value

    async def write(self, key: str) -> None:
        await self.origin.update(key)


class JitterTTL(Policy):
    name = "ttl-jitter"
    description = "TTL ± jitter: keys loaded together expire apart (does not protect one hot key)"

    def ttl_ms(self) -> float:
        j = self.config.jitter
        return self.config.ttl_ms * self.rng.uniform(1 - j, 1 + j)


class SingleFlight(Policy):
    name = "single-flight"
    description = "lock (SET NX PX) on a miss: one reader loads, the others wait for its value"

    async def on_miss(self, root_key: str) -> tuple[str, Value]:
        lock, token = self.key(root_key) + ":lock", f"{id(self)}:{self.rng.random()}"
        try:
            mine = await self.cache.lock(lock, token, self.config.lock_ms)
        except self.cache.errors:
            return "fallback", await self.origin.load(root_key, 0)
        if mine:
            try:
                return "miss", await self.fill(root_key)
            finally:
                with contextlib.suppress(*self.cache.errors):  # else the lock expires by itself
                    await self.cache.unlock(lock, token)
        deadline = time.monotonic() + self.config.lock_ms / 1000
        while time.monotonic() < deadline:
            await asyncio.sleep(self.config.poll_ms / 1000)
            try:
                cached = await self.cache.get(self.key(root_key))
            except self.cache.errors:
                break
            if cached is not None:
                return "waited", Value.decode(cached)
        return "miss", await self.fill(root_key)  # the loader died or was slow: load it ourselves


class XFetch(Policy):
    name = "xfetch"
    description = "probabilistic early expiration (Vattani et al. 2015): refresh when now - δβ·ln(rand) ≥ expiry"

    async def on_hit(self, root_key: str, value: Value) -> tuple[str, Value]:
        gap = -value.delta_ms * self.config.beta * math.log(1.0 - self.rng.random())  # log of (0, 1]
        if time.time() * 1000 + gap >= value.expiry_ms:
            return "early", await self.fill(root_key)
        return "hit", value


class InvalidateOnWrite(Policy):
    name = "invalidate"
    description = "TTL + DEL after each write commits (the next read loads the new version)"

    async def write(self, key: str) -> None:
        await self.origin.update(key)
        with contextlib.suppress(*self.cache.errors):  # else stale until its TTL: the stale-read check counts it
            await self.cache.delete(self.key(key))


POLICIES: dict[str, type[Policy]] = {p.name: p for p in (Policy, JitterTTL, SingleFlight, XFetch, InvalidateOnWrite)}
