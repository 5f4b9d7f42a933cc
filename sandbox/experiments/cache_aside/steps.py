"""Steps of the cache-aside scenario: the policies side by side, then the cache killed mid-run.

    prepare -> write (the root instances the origin serves) -> cache_aside -> cache_outage

Two roles: `cache` (a store whose kind declares the `cache` role: Redis) in front of `origin` (the
`cache_origin` role: PostgreSQL, read and written through the run's model store); the scenario file names them.
Any model whose root has a version field (the stale-read check compares versions).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.config import endpoint
from sandbox.errors import UsageError
from sandbox.experiments.cache_aside.mix import Mix, PolicyOutcome, run_policy
from sandbox.experiments.cache_aside.origin import Origin
from sandbox.experiments.cache_aside.policies import POLICIES, Cache, PolicyConfig
from sandbox.experiments.cache_aside.result import CachePolicies
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, role_part, with_defaults
from sandbox.stack.faults import FaultInjector

ROLES = {"cache": "cache", "origin": "cache_origin"}


@dataclass
class CacheClients:
    """The cache's own connection (not the model store's), and the origin's part: the store it is, its counter."""

    cache: Cache
    cache_role: Any
    origin_role: Any
    origin_name: str

    async def close(self) -> None:
        await self.cache.close()


async def open_clients(ctx: RunContext, cache: str, origin: str, connections: int) -> CacheClients:
    cache_role = role_part(ctx, "cache_aside", "cache", "cache", cache)
    origin_role = role_part(ctx, "cache_aside", "origin", "cache_origin", origin)
    opened = await cache_role.open(endpoint(ctx.settings, cache).url, connections)
    return CacheClients(opened, cache_role, origin_role, origin)


def _mix(run: RunParams, keys: int, read_ratio: float, zipf: float, concurrency: int, duration_s: float) -> Mix:
    """The mix, or one UsageError line saying what to change (checked before anything starts)."""
    numbers = (read_ratio, zipf, concurrency, duration_s)
    if not all(isinstance(n, int | float) and not isinstance(n, bool) for n in numbers):
        raise UsageError(f"cache-aside: read_ratio, zipf, concurrency and duration_s must be numbers, got {numbers}")
    if not isinstance(keys, int) or not 1 <= keys <= run.orders:
        raise UsageError(f"keys must be a whole number between 1 and --orders ({run.orders}), got {keys!r}")
    if not 0 < read_ratio <= 1 or zipf < 0 or concurrency < 1 or duration_s <= 0:
        raise UsageError("cache-aside: read_ratio must be in (0, 1], zipf >= 0, concurrency >= 1, duration_s > 0")
    return Mix(keys, read_ratio, zipf, concurrency, duration_s, run.seed or 1)


def _policies(given: str | Sequence[str]) -> list[str]:
    """Policy names from a list or from comma-separated text (-p policies=ttl,xfetch)."""
    names = [p.strip() for p in given.split(",")] if isinstance(given, str) else list(given)
    unknown = [p for p in names if p not in POLICIES]
    if unknown or not names:
        raise UsageError(f"unknown cache policy {(unknown or [''])[0]!r}; choose from {', '.join(POLICIES)}")
    return names


async def _measure(ctx: RunContext, clients: CacheClients, cache: str, name: str, config: PolicyConfig, mix: Mix,
                   faults: list[Any], recompute_ms: float) -> PolicyOutcome:
    store = ctx.stores[clients.origin_name].store
    key = ctx.model.root_entity.key
    ids = [ctx.dataset.root(i)[key] for i in range(mix.keys)]

    async def transactions() -> int | None:
        return await clients.origin_role.transactions(store)

    origin = Origin(store, ctx.dataset, ids, clients.origin_name, recompute_ms, transactions,
                    ctx.results.ensure(CachePolicies).committed)  # the versions earlier policies wrote
    policy = POLICIES[name](clients.cache, origin, clients.cache_role.prefix(ctx.stores[cache].store.namespace, name),
                            config, random.Random(f"{mix.seed}:{name}"))
    before = await origin.transactions()
    outcome = await run_policy(policy, origin, mix, ids, faults)
    after = await origin.transactions()
    outcome.xact = None if before is None or after is None else after - before
    return outcome


async def cache_aside(ctx: RunContext, cache: str, origin: str, policies: str | Sequence[str] = tuple(POLICIES),
                      keys: int = 1000,
                      read_ratio: float = 0.95, zipf: float = 1.0, concurrency: int = 16, duration_s: float = 10.0,
                      ttl_ms: float = 1000.0, jitter: float = 0.2, beta: float = 1.0, recompute_ms: float = 20.0,
                      lock_ms: float = 2000.0) -> None:
    """Each policy in turn drives the same read-heavy Zipfian mix for duration_s."""
    mix = _mix(ctx.params, keys, read_ratio, zipf, concurrency, duration_s)
    names = _policies(policies)
    config = PolicyConfig(ttl_ms, jitter, lock_ms, beta=beta)
    clients = await open_clients(ctx, cache, origin, concurrency)
    outcomes = ctx.results.ensure(CachePolicies).outcomes
    try:
        bar = ctx.progress.bar("cache-aside", len(names))
        for name in names:
            outcomes.append(await _measure(ctx, clients, cache, name, config, mix, [], recompute_ms))
            bar.advance(1)
    finally:
        await clients.close()


async def cache_outage(ctx: RunContext, cache: str, origin: str, policy: str = "single-flight", keys: int = 1000,
                       read_ratio: float = 0.95,
                       zipf: float = 1.0, concurrency: int = 16, outage_duration_s: float = 15.0,
                       kill_at_s: float = 5.0, down_s: float = 5.0, ttl_ms: float = 1000.0, jitter: float = 0.2,
                       beta: float = 1.0, recompute_ms: float = 20.0, lock_ms: float = 2000.0) -> None:
    """One policy with the cache killed (SIGKILL) at kill_at_s and started again down_s later: reads fall back
    to the origin; a per-second timeline shows the latency cliff and the recovery."""
    mix = _mix(ctx.params, keys, read_ratio, zipf, concurrency, outage_duration_s)
    _outage_times(kill_at_s, down_s, outage_duration_s)
    _policies([policy])
    injector = FaultInjector(ctx.stack)

    async def restore() -> None:  # never leave the cache down, whatever happened
        await injector.restore()

    ctx.cleanups.append(restore)

    async def kill() -> str:
        return await injector.apply(cache, "kill")

    async def start() -> str:
        return await injector.apply(cache, "start")

    clients = await open_clients(ctx, cache, origin, concurrency)
    try:
        events = [(kill_at_s, f"{cache} killed", kill), (kill_at_s + down_s, f"{cache} started", start)]
        outcome = await _measure(ctx, clients, cache, policy, PolicyConfig(ttl_ms, jitter, lock_ms, beta=beta), mix,
                                 events, recompute_ms)
        outcome.policy += f" ({cache} killed)"
        ctx.results.ensure(CachePolicies).outcomes.append(outcome)
    finally:
        await clients.close()
    # The model store's pooled connection died with the server: one call lets it notice and reconnect, so
    # teardown finds the cache's keys (if the restarted server kept any).
    with contextlib.suppress(Exception):
        await ctx.stores[cache].store.read(ctx.model.root, "after-restart")


def _outage_times(kill_at_s: float, down_s: float, outage_duration_s: float) -> None:
    times = (kill_at_s, down_s, outage_duration_s)
    if not all(isinstance(t, int | float) and not isinstance(t, bool) for t in times):
        raise UsageError(f"cache_outage: kill_at_s, down_s and outage_duration_s must be numbers, got {times}")
    if kill_at_s < 0 or down_s <= 0 or kill_at_s + down_s >= outage_duration_s:
        raise UsageError("cache_outage: need 0 <= kill_at_s, 0 < down_s, and kill_at_s + down_s < outage_duration_s "
                         "(to see the recovery)")


def _validate_aside(params: dict[str, Any], run: RunParams) -> None:
    a = with_defaults(cache_aside, params)
    _mix(run, a["keys"], a["read_ratio"], a["zipf"], a["concurrency"], a["duration_s"])
    _policies(a["policies"])


def _validate_outage(params: dict[str, Any], run: RunParams) -> None:
    a = with_defaults(cache_outage, params)
    _mix(run, a["keys"], a["read_ratio"], a["zipf"], a["concurrency"], a["outage_duration_s"])
    _outage_times(a["kill_at_s"], a["down_s"], a["outage_duration_s"])
    _policies([a["policy"]])


STEPS = {"cache_aside": StepSpec(cache_aside, _validate_aside, ROLES),
         "cache_outage": StepSpec(cache_outage, _validate_outage, ROLES)}
