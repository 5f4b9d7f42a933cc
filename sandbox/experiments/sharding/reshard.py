"""The `reshard` step: a real Redis Cluster gains a master and loses it again while orders are written and read.

A throwaway native cluster of `masters` masters is built. Writes and reads run open loop at fixed
rates the whole time; meanwhile a fourth master joins (`redis-cli --cluster add-node`), slots are
rebalanced onto it (`rebalance --cluster-use-empty-masters`), and later drained off it again
(`rebalance --cluster-weight <it>=0`, `del-node`). Recorded: latency per second with both migration
windows, the MOVED / ASK / TRYAGAIN replies every node counted (INFO errorstats), the slots and keys
that moved beside the ideal 1/(N+1), the slot of each key as computed here against CLUSTER KEYSLOT,
and finally every instance read back: lost, duplicated or divergent ones are findings (exit 3). The cluster is
the Redis model store over a cluster client (stores/redis/cluster.py: the run's model's Redis design, keys
hash-tagged per instance's slot), writing and reading the run's root instances.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Iterator
from itertools import count
from typing import Any

from sandbox.config import Endpoint
from sandbox.errors import UsageError
from sandbox.experiments.sharding.result import ShardingRuns
from sandbox.measure.history import OpHistory
from sandbox.measure.latency import summarize
from sandbox.measure.load import LoadPlan, closed_loop, drive
from sandbox.measure.node_check import check_node
from sandbox.measure.timeline import Timeline
from sandbox.measure.timing import TimedStore
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, role_part, whole_number, with_defaults
from sandbox.stack.redis_cluster import SLOTS, NativeRedisCluster, Node, cluster_root
from sandbox.stores.connect import close_all, connect_all
from sandbox.stores.redis.cluster import WRITE_PATHS, RedisClusterModelStore
from sandbox.workload.dataset import Instance
from sandbox.workload.sharding import key_slot

CLUSTER_PORT = 17279  # node i listens on this + i, shifted by SANDBOX_PORT_OFFSET (its bus port: + 10000)
SLOT_SAMPLE = 200
REDIRECTIONS = ("MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN")


def _counters(cluster: NativeRedisCluster) -> dict[str, int]:
    """MOVED/ASK/TRYAGAIN error replies every node has sent so far (INFO errorstats), summed."""
    total = dict.fromkeys(REDIRECTIONS, 0)
    for port in cluster.ports:
        for line in cluster.cli("-p", str(port), "info", "errorstats").splitlines():
            name, _, rest = line.partition(":")
            kind = name.removeprefix("errorstat_")
            if kind in total:
                total[kind] += int(rest.split("=")[1])
    return total


async def reshard(ctx: RunContext, store: str, masters: int = 3, rate: float = 300.0, read_rate: float = 300.0,
                  settle_s: float = 3.0, pipeline: int = 10, write_path: str = "script", prefill: int = 0,
                  reinitialize_steps: int = 0) -> None:
    """Add a master under load, rebalance onto it, drain it and remove it; then read every order back."""
    _check(masters, rate, read_rate, settle_s, pipeline, write_path, prefill, reinitialize_steps)
    ws = ctx.stack.ws
    ports = [ws.shifted(CLUSTER_PORT) + i for i in range(masters + 1)]
    cluster = NativeRedisCluster(cluster_root(ws.state_dir), ports, secrets.token_hex(16))
    ctx.cleanups.append(lambda: asyncio.to_thread(cluster.purge))
    await asyncio.to_thread(cluster.start)
    await asyncio.to_thread(cluster.create, masters)
    url = f"redis://:{cluster.password}@127.0.0.1:{ports[0]}/0"
    make = role_part(ctx, "reshard", "store", "cluster", store)
    cluster_store: RedisClusterModelStore = make(Endpoint(store, url), f"sbx_{ctx.run_id}", ctx.model, {
        "connections": ctx.params.concurrency, "write_path": write_path, "reinitialize_steps": reinitialize_steps})
    server = (await connect_all([cluster_store]))[store]
    history = OpHistory(ctx.results_dir / "history.jsonl")
    root = ctx.model.root_entity
    timed = TimedStore(cluster_store, ctx.params.op_timeout_s, [history.listener], entity=root.name, key=root.key)
    result: dict[str, Any] = {"server": str(server), "model": cluster_store.describe(), "write_path": write_path,
                              "reinitialize_steps": reinitialize_steps, "prefill": prefill,
                              "masters_before": masters, "ports": ports, "rate": rate,
                              "read_rate": read_rate, "events": [], "redirections": {}}
    try:
        await cluster_store.prepare(ctx.dataset)
        await _prefill(ctx, timed, prefill)
        sent = await _under_load(ctx, cluster, timed, result, settle_s, pipeline, prefill)
        result["slot_check"] = await _slot_check(cluster_store, ctx, sent)
        result.update(await _read_back(ctx, cluster_store, history, sent))
        result["latency"] = {op: summarize(stats.latency) for op, stats in timed.stats.items()}
        result["operations"] = {op: {"ok": s.ok, "failed": s.failed, "unknown": s.unknown,
                                     "errors": s.first_errors} for op, s in timed.stats.items()}
    finally:
        history.close()
        await close_all([cluster_store], ctx.params.keep, ctx.notes)
        ctx.results.ensure(ShardingRuns).by_step["reshard"] = result


async def _prefill(ctx: RunContext, timed: TimedStore, prefill: int) -> None:
    """Orders written before the clock starts (left out of the latencies, not of the read-back): data in every
    slot, so a slot takes a while to migrate and requests meet it half moved (ASK)."""
    if not prefill:
        return
    timed.measure_from_ns = 2**63  # everything until the reset is warm-up
    bar = ctx.progress.bar("prefill", prefill)

    async def one(instance: Instance) -> None:
        await timed.write(instance)
        bar.advance()

    await closed_loop(ctx.dataset.roots(0, prefill), one, ctx.params.concurrency)
    timed.measure_from_ns = 0


async def _under_load(ctx: RunContext, cluster: NativeRedisCluster, timed: TimedStore, result: dict[str, Any],
                      settle_s: float, pipeline: int, first: int) -> int:
    """Writes and reads at fixed rates while the cluster grows by one master and shrinks back; returns orders sent."""
    stop = asyncio.Event()
    acked: list[str] = []
    sent = first

    def orders() -> Iterator[Instance]:
        nonlocal sent
        for index in count(first):  # as many instances as the resharding takes time for
            if stop.is_set():
                return
            sent += 1
            yield ctx.dataset.root(index)

    def reads() -> Iterator[str]:
        rng = random.Random(ctx.params.seed)
        while not stop.is_set():
            yield acked[rng.randrange(len(acked))] if acked else ""

    async def write(instance: Instance, intended: int, begun: int) -> None:
        if await timed.write(instance, intended, begun):
            acked.append(str(instance[timed.key]))

    async def read(key: str, intended: int, begun: int) -> None:
        if key:
            await timed.call("read", lambda: timed.store.read(timed.entity, key), (key,), intended, begun)

    concurrency = ctx.params.concurrency
    timeline = Timeline("reshard", ctx.results_dir / "timeline.csv", ctx.progress, keep_rows=True)
    timeline.watch("redis-cluster", "write", timed.op("write"))
    timeline.watch("redis-cluster", "read", timed.op("read"))
    async with timeline:
        t0 = time.perf_counter()
        load = asyncio.gather(drive(orders(), write, LoadPlan(concurrency, result["rate"])),
                              drive(reads(), read, LoadPlan(concurrency, result["read_rate"])))

        async def event(name: str, fn: Any, *args: Any) -> Any:
            start = time.perf_counter() - t0
            out = await asyncio.to_thread(fn, *args)
            result["events"].append({"event": name, "start_s": round(start, 3),
                                     "end_s": round(time.perf_counter() - t0, 3)})
            return out

        try:
            await asyncio.sleep(settle_s)
            new_port = cluster.ports[-1]
            before = _counters(cluster)
            await event("add-node", cluster.add_master, new_port)
            await event("rebalance onto the new master", cluster.rebalance_onto_empty, pipeline)
            grown = cluster.nodes()
            result["redirections"]["grow"] = _delta(before, _counters(cluster))
            result["grow"] = _moved(grown, new_port, cluster)
            await asyncio.sleep(settle_s)
            before = _counters(cluster)
            await event("drain and del-node", cluster.drain_and_remove, new_port, pipeline)
            result["redirections"]["shrink"] = _delta(before, _counters(cluster))
            result["shrink"] = {"slots_left_on_removed": sum(n.slots for n in cluster.nodes(new_port)
                                                             if n.port == new_port),
                                "masters_after": sum(1 for n in cluster.nodes() if n.master and n.slots)}
            await asyncio.sleep(settle_s)
        finally:
            stop.set()
            await load
    result["timeline"] = [row for row in timeline.rows if row["ops"]]
    return sent


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in before}


def _moved(nodes: list[Node], new_port: int, cluster: NativeRedisCluster) -> dict[str, Any]:
    """Slots and keys the new master took, beside the ideal share 1/(N+1)."""
    masters = [n for n in nodes if n.master]
    taken = next(n.slots for n in masters if n.port == new_port)
    keys = {n.port: int(cluster.cli("-p", str(n.port), "dbsize").split()[-1]) for n in masters}
    return {"masters": len(masters), "slots_moved": taken, "slot_share": taken / SLOTS, "ideal": 1 / len(masters),
            "keys_on_new_master": keys[new_port], "key_share": keys[new_port] / max(1, sum(keys.values()))}


async def _slot_check(store: RedisClusterModelStore, ctx: RunContext, sent: int) -> dict[str, Any]:
    """The slot this code computes for a sample of keys against the server's CLUSTER KEYSLOT."""
    keys: list[str] = []
    root = ctx.model.root_entity
    for index in range(0, sent, max(1, sent // SLOT_SAMPLE)):
        key = str(ctx.dataset.root(index)[root.key])
        keys += [store.hash_key(root.name, key), store.every_key(root.name, key_slot(key))]
    mismatches = []
    for key in keys:
        server = int(await store.client.execute_command("CLUSTER KEYSLOT", key))
        if server != key_slot(key):
            mismatches.append({"key": key, "sandbox": key_slot(key), "server": server})
    return {"keys": len(keys), "mismatches": mismatches}


async def _read_back(ctx: RunContext, store: RedisClusterModelStore, history: OpHistory, sent: int) -> dict[str, Any]:
    """Every instance sent, classified (lost / divergent / unexpected ...), plus instances listed twice, and each
    checked aggregate's counters added up over the buckets against the instances the cluster holds (a write
    applied twice shows there)."""
    root = ctx.model.root_entity
    expected = {str(i[root.key]): i for i in ctx.dataset.roots(0, sent)}
    check, held, twice = await check_node(store.name, store, root.name, root.key, expected,
                                          history.outcomes.of(store.name))
    mismatches: list[dict[str, Any]] = []
    for p in ctx.model.checked_aggregates():
        if p.bucket is not None or p.where:
            continue
        want: dict[tuple[Any, ...], list[Any]] = {}
        for record in held:
            row = want.setdefault(tuple(record[g] for g in p.group_by), [0, *(0 for _ in p.sums)])
            row[0] += 1
            for n, f in enumerate(p.sums, start=1):
                row[n] += record[f]
        got = {tuple(r.group): [r.count, *r.sums[:len(p.sums)]] for r in await store.totals(p.name)}
        for group in sorted(set(want) | set(got), key=str):
            if want.get(group) != got.get(group):
                mismatches.append({"pattern": p.name, "group": [str(g) for g in group],
                                   "counted": [str(v) for v in got.get(group, [])],
                                   "held": [str(v) for v in want.get(group, [])]})
    return {"sent": sent, "check": check.to_json(), "duplicates": twice, "aggregates_match": not mismatches,
            "aggregate_mismatches": mismatches}


def _check(masters: Any, rate: Any, read_rate: Any, settle_s: Any, pipeline: Any, write_path: Any,
           prefill: Any, reinitialize_steps: Any) -> None:
    if not isinstance(reinitialize_steps, int) or reinitialize_steps < 0:
        raise UsageError(f"reshard: reinitialize_steps must be 0 (off) or a positive whole number, got "
                         f"{reinitialize_steps!r}")
    whole_number("reshard", "prefill", prefill, 0, 10_000_000)
    if write_path not in WRITE_PATHS:
        raise UsageError(f"reshard: write_path must be one of {', '.join(WRITE_PATHS)}, got {write_path!r}")
    whole_number("reshard", "masters", masters, 3, 10, why=" (a cluster needs 3)")
    for name, value in (("rate", rate), ("read_rate", read_rate), ("settle_s", settle_s)):
        if not isinstance(value, int | float) or value <= 0:
            raise UsageError(f"reshard: {name} must be a positive number, got {value!r}")
    whole_number("reshard", "pipeline", pipeline, 1, 1000)


def _validate(params: dict[str, Any], run: RunParams) -> None:
    _check(**with_defaults(reshard, params, leave_out=("store",)))


STEPS = {"reshard": StepSpec(reshard, _validate, roles={"store": "cluster"})}
