"""Cache-aside on the real Redis and PostgreSQL: the stampede and the policies that prevent it."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from sandbox.config import Settings, endpoint
from sandbox.experiments.cache_aside.mix import Mix, run_policy
from sandbox.experiments.cache_aside.origin import Origin
from sandbox.experiments.cache_aside.policies import POLICIES, Cache, Policy, PolicyConfig
from sandbox.stores import make_model_store
from sandbox.stores.connect import close_all
from tests.helpers import BUILT_IN, new_namespace, orders

pytestmark = pytest.mark.stores("postgres", "redis")
DATA = orders(14, 50, customer=20, product=20)
READERS = 16
RECOMPUTE_MS = 20.0  # long enough that concurrent readers overlap one load


@dataclass
class Setup:
    cache: Cache
    store: object  # the origin's model store (PostgreSQL's), behind Origin's counting
    origin: Origin
    namespace: str
    ids: list[str]
    committed: dict  # the versions the origins of this data acknowledged (the step keeps one for the run)

    def policy(self, name: str, origin: Origin | None = None, **config: float) -> Policy:
        return POLICIES[name](self.cache, origin or self.origin, f"{self.namespace}:cache:{name}:",
                              PolicyConfig(**config), random.Random(1))

    def new_origin(self, recompute_ms: float) -> Origin:
        return Origin(self.store, DATA, self.ids, "postgres", recompute_ms, committed=self.committed)


@pytest.fixture
async def setup(live: Settings) -> AsyncIterator[Setup]:
    namespace = new_namespace()
    pg, redis = (make_model_store(live, name, namespace, DATA.model, READERS) for name in ("postgres", "redis"))
    try:
        for store in (pg, redis):  # redis: its teardown drops the run's keys, cache keys included
            await store.connect()
            await store.prepare(DATA)
        await pg.write_batch(list(DATA.roots()))
        # Every pooled connection opened up front (the origin's, as the step's transaction count does), so a
        # stampede is not also a connection storm.
        await asyncio.gather(*(pg.read("order", DATA.root(0)["id"]) for _ in range(READERS)))
        # The roles the cache-aside scenario gives them: Redis plays the cache, PostgreSQL the origin.
        cache = await BUILT_IN.kind("redis").roles["cache"].open(endpoint(live, "redis").url, READERS)
        await asyncio.gather(*(cache.get(f"{namespace}:warm") for _ in range(READERS)))  # its connections too
        ids = [o["id"] for o in DATA.roots()]
        try:
            committed: dict = {}
            yield Setup(cache, pg, Origin(pg, DATA, ids, "postgres", RECOMPUTE_MS, committed=committed), namespace,
                        ids, committed)
        finally:
            await cache.close()
    finally:
        await close_all([pg, redis], keep=False, notes=[])


async def readers_of_expired_key(s: Setup, name: str) -> int:
    """Fill the hot key, let it expire, then READERS read it at once: the origin loads it caused."""
    policy = s.policy(name, ttl_ms=200)
    hot = s.ids[0]
    await policy.read(hot)
    await asyncio.sleep(0.3)
    assert not await s.cache.exists(policy.key(hot))
    before = s.origin.loads
    answers = await asyncio.gather(*(policy.read(hot) for _ in range(READERS)))
    assert all(value.version == 1 and '"id":"' + hot + '"' in value.record for _, value in answers)
    return s.origin.loads - before


async def test_plain_ttl_stampedes_single_flight_does_not(setup: Setup) -> None:
    ttl_loads = await readers_of_expired_key(setup, "ttl")
    assert ttl_loads > 1, "plain TTL: concurrent readers of an expired key should each load the origin"
    flight_loads = await readers_of_expired_key(setup, "single-flight")
    assert flight_loads == 1, f"single-flight: {flight_loads} origin loads for one expired key"


async def test_hammered_hot_key_loads_per_expiry(setup: Setup) -> None:
    """READERS read one hot key over several TTLs: plain TTL loads it about once per reader at every
    expiry, single-flight once. XFetch refreshes before expiry; readers that draw an early refresh while
    one is in flight duplicate it (about e^(D/βδ) - 1 extra loads for a recompute taking D, longer than δ
    when the event loop is busy), so β = 4 keeps it near one."""
    mean = {}
    for name, config, duration_s in (("ttl", {"ttl_ms": 400}, 2.0), ("single-flight", {"ttl_ms": 400}, 2.0),
                                     ("xfetch", {"ttl_ms": 1500, "beta": 4.0}, 4.5)):
        mix = Mix(keys=1, read_ratio=1.0, concurrency=READERS, duration_s=duration_s)
        policy = setup.policy(name, **config)
        await policy.read(setup.ids[0])  # warm: the first fill is a cold start, not an expiry
        outcome = await run_policy(policy, setup.origin, mix, setup.ids)
        episodes = outcome.hot_episodes
        assert len(episodes) >= 3, f"{name}: expected several refreshes, got {episodes}"
        assert outcome.reads > 100 and outcome.stale == 0
        mean[name] = sum(episodes) / len(episodes)
    assert mean["ttl"] > 4, mean
    assert mean["single-flight"] <= 1.2, mean
    # About one: on this shared 2-core machine the loop lag stretches D, so allow an occasional duplicate.
    assert mean["xfetch"] <= 2.5 and mean["xfetch"] < mean["ttl"] / 4, mean


async def test_writes_make_ttl_reads_stale_and_invalidation_does_not(setup: Setup) -> None:
    mix = Mix(keys=5, read_ratio=0.8, concurrency=4, duration_s=1.5)
    stale_rate = {}
    for name in ("ttl", "invalidate"):
        origin = setup.new_origin(0)  # no recompute: a read by key
        outcome = await run_policy(setup.policy(name, origin, ttl_ms=5000), origin, mix, setup.ids)
        # Most writes applied (the second origin knows the first one's versions; a few lose a race to a concurrent
        # write of the same key): had they been refused, nothing would be stale.
        assert outcome.writes > 0 and outcome.writes_refused < outcome.writes / 2 and outcome.reads > 100, \
            outcome.to_json()
        stale_rate[name] = outcome.stale_rate
    assert stale_rate["ttl"] > 0.05, "writes under a long TTL should leave stale entries"
    # Invalidation leaves windows (a read between the commit and the DEL; a miss that loaded the old row
    # and fills after the DEL), so it is rarely stale, not never.
    assert stale_rate["invalidate"] < stale_rate["ttl"] / 10, stale_rate


async def test_a_write_is_the_roots_next_version_and_a_lost_race_is_refused(setup: Setup) -> None:
    origin = setup.new_origin(0)
    key = setup.ids[3]
    assert origin.version_now(key) == 1
    assert await origin.update(key) == 2 and origin.version_now(key) == 2
    assert (await origin.load(key, 1000)).version == 2
    await asyncio.gather(*(origin.update(key) for _ in range(4)))  # all ask for version 3: one gets it
    assert origin.version_now(key) == 3 and origin.refused == 3 and origin.writes == 5
    record = await setup.store.read("order", key)  # type: ignore[attr-defined]
    assert record["version"] == 3 and {**record, "version": 1} == {**DATA.root(3), "version": 1}
