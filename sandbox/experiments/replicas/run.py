"""One store's primary and replica under one guarantee: open the pair, run the marker loop, close it.

Shared by the `replicas` steps (steps.py) and the tests. A pair gets a namespace of its own, created on the
primary (and replicated); every node is read and written through a model store of the run's model (a replica
endpoint is a model store on the replica's URL); the writer's carries the guarantee's options (PostgreSQL
synchronous_commit, Redis WAIT, MongoDB's write concern) and the primary its server part
(synchronous_standby_names). Markers and load are the dataset's root instances.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sandbox.config import Settings, Workspace, endpoint, mask
from sandbox.errors import UsageError
from sandbox.measure.latency import summarize
from sandbox.measure.load import closed_loop
from sandbox.measure.replication import PROBES, Reader, ReplicaReads, follow
from sandbox.measure.timing import TimedStore
from sandbox.stores import make_model_store
from sandbox.stores.contract import ModelStore
from sandbox.stores.registry import registry_of
from sandbox.stores.replication import Guarantee, Replication, replica_url
from sandbox.workload.dataset import Dataset, Instance

READ_TIMEOUT_S = 0.5  # a replica read not answered by then counts as failed (paused, killed)
READY_TIMEOUT_S = 20.0
TAIL_S = 2.0  # markers go on this long after a fault schedule ends


@dataclass
class Pair:
    store: str
    replication: Replication
    primary_url: str
    replica_url: str
    writer: TimedStore  # carries the guarantee's options
    primary_reads: TimedStore
    replica_reads: TimedStore
    background: TimedStore  # the load beside the markers, timed apart from them
    roles: dict[str, str] = field(default_factory=dict)

    async def server_lag(self) -> Any:
        return await self.replication.lag(self.primary_url, self.replica_url)


@dataclass
class GuaranteeRow:
    """What one guarantee cost the writer and what its readers saw."""

    store: str
    guarantee: Guarantee
    reads: ReplicaReads
    write_ms: dict[str, float | None]
    roles: dict[str, str]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "describe": self.guarantee.describe, "write_ms": self.write_ms,
                "roles": self.roles, "notes": self.notes, **self.reads.to_json()}


def replication_of(settings: Settings, store: str) -> Replication:
    kind = registry_of(settings).kind(store)
    if kind.replication is None:
        raise UsageError(f"{store} has no replicas in the sandbox (capability replicas); "
                         "choose postgres or redis (mongo: compose or URL)")
    return kind.replication


def on_url(settings: Settings, store: str, url: str) -> Settings:
    """The same settings with the store's URL replaced (a replica's): its model store talks to that node."""
    return Settings(settings.kinds, {**settings.values, f"{store}_url": url}, settings.insecure)


@contextlib.asynccontextmanager
async def open_pair(settings: Settings, ws: Workspace, store: str, namespace: str, guarantee: Guarantee,
                    data: Dataset, connections: int = 8, servers: tuple[str, str | None] | None = None):
    """The writer (primary, guarantee applied), readers of the primary and the replica; torn down after.
    `servers`: the URLs of the primary and the replica for the replication calls (the stack's administrative
    login, which may set a guarantee and promote; a replica's None: the readers' URL); default the readers'."""
    rep = replication_of(settings, store)
    primary = endpoint(settings, store)
    replica_at = replica_url(settings, ws, store, rep)
    replica = on_url(settings, store, replica_at)
    server_primary, server_replica = servers or (primary.url, None)
    server_replica = server_replica or replica_at
    root = data.model.root_entity
    opened: list[ModelStore] = []

    def timed(s: ModelStore, op_timeout_s: float = 10.0) -> TimedStore:
        return TimedStore(s, op_timeout_s, entity=root.name, key=root.key)

    async def connected(on: Settings, pool: int = connections, **options: Any) -> ModelStore:
        node = make_model_store(on, store, namespace, data.model, pool, **options)
        opened.append(node)
        try:
            async with asyncio.timeout(10.0):
                await node.connect()
        except Exception as exc:
            raise UsageError(f"{store} at {mask(node.endpoint.url)} does not answer ({type(exc).__name__}): start "
                             f"replicas with `sandbox up --replicas 1`, or set SANDBOX_{store.upper()}_REPLICA_URL") \
                from None
        return node

    try:
        if rep.configure is not None:
            await rep.configure(server_primary, guarantee)
        writer = await connected(settings, **guarantee.options)
        await _when_ready(lambda: writer.prepare(data))
        pair = Pair(store, rep, server_primary, server_replica, timed(writer),
                    timed(await connected(settings), READ_TIMEOUT_S),
                    timed(await connected(replica, PROBES + 2), READ_TIMEOUT_S), timed(writer))
        pair.roles = {"primary": await rep.role(server_primary), "replica": await rep.role(server_replica)}
        yield pair
    finally:
        if opened:
            writer_adapter = opened[0]

            async def teardown() -> None:
                async with asyncio.timeout(10.0):
                    await writer_adapter.teardown()

            with contextlib.suppress(Exception):  # a primary a fault killed is back by now, or never will be
                await _when_ready(teardown)
        for adapter in opened:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(10.0):
                    await adapter.close()


async def _when_ready(action: Callable[[], Awaitable[None]]) -> None:
    """Retry while a just-restarted server is still loading its data (Redis: BusyLoadingError)."""
    deadline = asyncio.get_running_loop().time() + READY_TIMEOUT_S
    while True:
        try:
            await action()
            return
        except UsageError:
            raise
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)


async def run_markers(pair: Pair, guarantee: Guarantee, data: Dataset, markers: int, load_orders: int,
                      concurrency: int, route: str, timeout_s: float,
                      during: Callable[[ReplicaReads], Awaitable[None]] | None = None) -> GuaranteeRow:
    """Markers (root instances 0..markers-1) beside a background load (the `load_orders` ones after them) at
    `concurrency`. With `during` (a fault schedule) markers and load run until it is done plus TAIL_S,
    so the recovery is seen."""
    reads = ReplicaReads(pair.store, guarantee.name, route)
    reader = Reader(pair.replica_reads, pair.primary_reads, route, reads)
    stop = asyncio.Event()

    def stream(start: int, count: int) -> Iterator[Instance]:
        for i in range(start, start + count):
            if during is not None and stop.is_set():
                return
            yield data.root(i)

    endless = 10**9 if during is not None else 0
    load = closed_loop(stream(markers + endless, endless or load_orders), pair.background.write, concurrency) \
        if load_orders > 0 else None
    tasks: list[Awaitable[Any]] = [follow(pair.writer, reader, stream(0, endless or markers), timeout_s,
                                          pair.server_lag, load)]
    if during is not None:
        async def schedule() -> None:
            try:
                await during(reads)
                await asyncio.sleep(TAIL_S)
            finally:
                stop.set()
        tasks.append(schedule())
    await asyncio.gather(*tasks)
    return GuaranteeRow(pair.store, guarantee, reads, summarize(pair.writer.op("write").latency), pair.roles)
