"""(a) Redis SET of a 3-byte value at concurrency 50, per client library of the Redis model store (redis-py,
valkey-glide: `-o redis.client`): through TimedStore, in a bare loop on the same client, and redis-benchmark
-c 50 on the same key space.

Every side and repeat gets a fresh key prefix and an open client before its clock starts; the keys
are built beforehand. redis-benchmark's own requests/s excludes its start-up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from bench.common import Row, bare_rate, close_store, open_store, run_id, run_tool, sandbox_rate, server_calls, tool
from bench.repeats import WIN_MARGIN, SideResult, alternate, clear_win, ratio
from sandbox.measure.load import LoadPlan
from sandbox.measure.timing import TimedStore
from sandbox.stores import make_model_store
from sandbox.workload.dataset import Dataset

CONCURRENCY = 50
WHY_HARNESS = ("apart the harness costs ~1.2 us of CPU per call (no-op row); around redis-py's ~35 us SET it costs "
               "+2.8-3.4 us (~9%: 0.9 is at the edge, the row read 0.87-0.97 in 11 runs): driver worker "
               "+0.1-1.0, clock reads and appends +0.1-0.8, TimedCalls.call +0.9-1.9 (its flush 0.3), the "
               "watchdog's bookkeeping +0.5-1.4 (python -m bench.redis_layers; docs/measurement.md).")
WHY_LIBRARY = ("redis-py spends ~33 us of CPU per SET in this process (cProfile, bare loop: socket write, command "
               "packing, pool get/release, an asyncio timeout per reply, redis-py 8's metrics hooks, 5 "
               "get_running_loop() each paying a getpid() system call); redis-benchmark does it in C.")
KEYSPACE = 100_000  # redis-benchmark -r


def _maker(settings: Any, client: str, namespace: str, data: Dataset) -> Callable[[], Any]:
    """The Redis model store through the client library named, as `-o redis.client=<client>` chooses it."""
    return lambda: make_model_store(settings, "redis", namespace, data.model, CONCURRENCY,
                                    chosen={"redis.client": client})


async def bench(settings: Any, data: Dataset, n: int) -> list[Row]:
    servers: dict[str, str] = {}

    def side(client: str, how: str) -> Callable[[], Awaitable[SideResult]]:
        async def run() -> SideResult:
            ns = run_id(how[0])
            store, servers[client] = await open_store("redis", settings, ns, CONCURRENCY, data,
                                                      _maker(settings, client, ns, data))
            try:
                keys = [f"{ns}:s:{i % KEYSPACE:012d}" for i in range(n)]
                raw = getattr(store.client, "raw", store.client)  # glide: its own client under the facade
                client_set = raw.set
                if how == "sandbox":
                    return await server_calls(store, n, sandbox_rate(TimedStore(store), keys,
                                                                     lambda k: client_set(k, "xxx"),
                                                                     LoadPlan(CONCURRENCY)))
                return await server_calls(store, n, bare_rate(keys, lambda k: client_set(k, "xxx"), CONCURRENCY))
            finally:
                await close_store(store)
        return run

    async def native() -> SideResult:
        url = urlsplit(settings.redis_url)
        ns = run_id("n")
        store, _ = await open_store("redis", settings, ns, 1, data)

        async def benchmark() -> float:
            user = ["--user", url.username] if url.username else []  # the run's ACL user
            _, out = run_tool([tool("redis-benchmark"), "-h", url.hostname or "127.0.0.1", "-p", str(url.port),
                               *user, "-a", url.password or "", "-c", str(CONCURRENCY), "-n", str(n),
                               "-r", str(KEYSPACE),
                               "--csv", "SET", f"{ns}:k:__rand_int__", "xxx"])  # 7.0 ignores REDISCLI_AUTH
            return float(out.strip().splitlines()[-1].split(",")[1].strip('"'))
        try:
            return await server_calls(store, n, benchmark())
        finally:
            await close_store(store)

    clients = ("redis-py", "valkey-glide")
    sides = {f"{c} {how}": side(c, how) for c in clients for how in ("sandbox", "bare")}
    samples = await alternate({**sides, "native": native})
    return [Row(f"(a) Redis SET, {CONCURRENCY} concurrent, {client} vs redis-benchmark -c {CONCURRENCY}",
                servers[client], "ops/s", samples[f"{client} sandbox"], samples[f"{client} bare"],
                samples["native"], harness_target=0.9, library_target=0.5 if client == "redis-py" else None,
                why_harness=WHY_HARNESS, why_library=WHY_LIBRARY)
            for client in clients]


DEFAULT_CLIENT = "redis-py"  # the Redis model store's default (stores/redis/model_store.py)


def client_verdict(rows: list[Row]) -> str:
    """Issue 22's rule for the default client, applied to this run's (a) rows: a candidate replaces the default
    when its bare loop wins clearly (repeats.clear_win) and the adapter's contract tests pass on it
    (tests/test_redis_glide_model.py runs them on valkey-glide)."""
    bare = {r.bench.split(", ")[2].split(" vs")[0]: r.bare for r in rows}
    if DEFAULT_CLIENT not in bare:
        return "Redis client: the default's row did not run."
    winners = [c for c, s in bare.items() if c != DEFAULT_CLIENT and clear_win(s, bare[DEFAULT_CLIENT])]
    if not winners:
        return (f"Redis client: no candidate's bare loop beat {DEFAULT_CLIENT}'s clearly in this run (every repeat "
                f"faster and the median by {WIN_MARGIN - 1:.0%}); the default stays {DEFAULT_CLIENT}.")
    ratios = ", ".join(f"{c} {ratio(bare[c], bare[DEFAULT_CLIENT]):.2f}x" for c in winners)
    return (f"Redis client: {ratios} of {DEFAULT_CLIENT}'s bare loop, every repeat faster: by the rule, a candidate "
            f"for the default (`-o redis.client=...` selects it today; the default stays {DEFAULT_CLIENT} until the "
            "whole Redis suite runs on it, docs/measurement.md).")
