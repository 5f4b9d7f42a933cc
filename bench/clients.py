"""(g) Client choice for MongoDB and Elasticsearch: the adapter's work sent through each client library in a
bare loop, so the library is the only thing that differs between the sides.

- MongoDB: PyMongo's AsyncMongoClient (the adapter's), mongojet (PyMongo's bson encoder in front of the
  MongoDB Rust driver) and Motor (shown for reference only: a wrapper running PyMongo's synchronous API in
  a thread pool, deprecated since 2025-05 in favour of PyMongo's async API, which the adapter uses);
- Elasticsearch: the async client over elastic_transport's aiohttp node (the adapter's) and over its
  httpx node (`node_class="httpxasync"`), both sending the adapter's plain application/json headers.

Two kinds of work, as the adapter sends them: the order write (one order per request: insert_one / index,
8 in flight) and the bulk load (insert_many(ordered=False) / _bulk of 1,000 orders, one in flight). Each
side and repeat gets a fresh namespace prepared by the adapter (collection, validator and indexes; index
and mapping), opens its client and its connections before the clock, and has its documents built before
the clock (the same documents for every client). Afterwards the adapter counts what arrived. Per side:
orders/s, and the client process's CPU time per order (all its threads: Motor's pool, mongojet's Rust
runtime), which shows what a client costs when the server is not the limit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from elastic_transport import HttpxAsyncHttpNode
from elasticsearch import AsyncElasticsearch
from pymongo import AsyncMongoClient

from bench.common import close_store, held, open_store, run_id
from bench.repeats import REPEATS, Samples, alternate
from sandbox.errors import SandboxError
from sandbox.measure.load import closed_loop
from sandbox.stores.elastic.client import PlainJsonNode, plain_json
from sandbox.workload.dataset import Dataset

CONCURRENCY = 8  # order writes in flight; a bulk load has one batch in flight, as bench (c) does
BATCH = 1000
CURRENT = {"mongo": "pymongo", "elastic": "aiohttp"}
CLIENTS = {"mongo": ("pymongo", "mongojet", "motor"), "elastic": ("aiohttp", "httpx")}
NOTES = {"motor": "deprecated wrapper, reference only", "httpx": 'node_class="httpxasync"'}
CANDIDATES = {"mongojet", "httpx"}  # what could be adopted (Motor is on its way out)
WIN_MARGIN = 1.1

Send = Callable[[Any], Awaitable[object]]
Close = Callable[[], Awaitable[object]]


class PlainJsonHttpxNode(HttpxAsyncHttpNode):
    """elastic_transport's httpx node with the adapter's plain_json() headers (the osmem stand-in needs them)."""

    async def perform_request(self, method, target, body=None, headers=None, **kwargs):  # type: ignore[override]
        return await super().perform_request(method, target, body=body, headers=plain_json(headers), **kwargs)


@dataclass
class Measured:
    rate: Samples = field(default_factory=Samples)  # orders/s
    cpu_us: Samples = field(default_factory=Samples)  # client CPU per order


def with_pool(url: str, size: int) -> str:
    """The MongoDB URL with maxPoolSize set, so every client library gets the same pool."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "maxpoolsize"] + [("maxPoolSize", str(size))]
    return urlunsplit(parts._replace(query=urlencode(query)))


async def mongo_client(client: str, url: str, namespace: str, bulk: bool, name: str = "orders") -> tuple[Send, Close]:
    """The model store's write (insert_one) or bulk load (insert_many, unordered) on the orders collection."""
    url = with_pool(url, CONCURRENCY)
    if client == "mongojet":
        import mongojet  # imported here: the bench is the only user
        jet = await mongojet.create_client(url, tz_aware=True)
        collection: Any = jet.get_database(namespace).get_collection(name)
        close: Close = jet.close
    elif client == "motor":
        from motor.motor_asyncio import AsyncIOMotorClient
        motor: Any = AsyncIOMotorClient(url, tz_aware=True)
        collection = motor[namespace][name]
        close = _closer(motor.close)  # Motor's close() is synchronous
    else:
        py: AsyncMongoClient = AsyncMongoClient(url, tz_aware=True)
        collection, close = py[namespace][name], py.close
    await asyncio.gather(*(collection.find_one({"_id": ""}) for _ in range(CONCURRENCY)))  # connections open
    if bulk:
        return (lambda docs: collection.insert_many(docs, ordered=False)), close
    return collection.insert_one, close


def _closer(close: Callable[[], object]) -> Close:
    async def run() -> None:
        close()
    return run


async def elastic_client(client: str, store: Any, bulk: bool) -> tuple[Send, Close]:
    """The model store's write (create, refresh=false) or bulk load (one _bulk request per batch)."""
    plain = store.endpoint.settings.get("plain_json", True)
    node_class: Any = ((PlainJsonHttpxNode if plain else "httpxasync") if client == "httpx"
                      else (PlainJsonNode if plain else "aiohttp"))
    es = AsyncElasticsearch(store.endpoint.url, node_class=node_class, connections_per_node=CONCURRENCY,
                            request_timeout=30)
    await asyncio.gather(*(es.info() for _ in range(CONCURRENCY)))  # connections open

    async def load(ops: list[dict[str, Any]]) -> None:
        resp = await es.bulk(operations=ops, refresh="false")
        if resp.get("errors"):
            raise SandboxError(f"_bulk rejected orders: {resp['items'][0]}")

    if bulk:
        return load, es.close
    index = store.design.index(store.model.root)
    return (lambda doc: es.create(index=index, id=doc[0], document=doc[1], refresh="false")), es.close


def work(store_name: str, store: Any, orders: Sequence[Any], bulk: bool) -> list[Any]:
    """Everything the clients send, built before the clock from the model store's codec: documents, or one
    batch's documents / operations."""
    root = store.model.root
    codec, key = store.codecs[root], store.model.root_entity.key
    if store_name == "mongo":
        docs = [codec.encode(o) for o in orders]
        return [docs[i:i + BATCH] for i in range(0, len(docs), BATCH)] if bulk else docs
    if not bulk:
        return [(str(o[key]), codec.encode(o)) for o in orders]
    index = store.design.index(root)
    batches = []
    for i in range(0, len(orders), BATCH):
        ops: list[dict[str, Any]] = []
        for o in orders[i:i + BATCH]:
            ops += [{"create": {"_index": index, "_id": str(o[key])}}, codec.encode(o)]
        batches.append(ops)
    return batches


async def bench(settings: Any, data: Dataset, n_write: int, n_bulk: int, repeats: int = REPEATS) -> str:
    """The section `make bench` prints: per store, work and client, orders/s and client CPU per order."""
    results: dict[tuple[str, str, str], Measured] = {}
    servers: dict[str, str] = {}
    for store_name, clients in CLIENTS.items():
        for kind, n in (("write", n_write), ("bulk", n_bulk)):
            orders = list(data.roots(0, n))
            bulk = kind == "bulk"
            sides = {c: _side(settings, data, store_name, c, orders, bulk, servers,
                              results.setdefault((store_name, kind, c), Measured())) for c in clients}
            await alternate(sides, repeats)
    return section(results, servers, n_write, n_bulk)


def _side(settings: Any, data: Dataset, store_name: str, client: str, orders: list[Any], bulk: bool,
          servers: dict[str, str], into: Measured) -> Callable[[], Awaitable[float]]:
    async def run() -> float:
        store, servers[store_name] = await open_store(store_name, settings, run_id(client[0]), 1, data)
        try:
            items = work(store_name, store, orders, bulk)
            if store_name == "mongo":
                send, close = await mongo_client(client, store.endpoint.url, store.namespace, bulk,
                                                 store.design.collections[store.model.root].name)
            else:
                send, close = await elastic_client(client, store, bulk)
            try:
                cpu = time.process_time()
                seconds = await closed_loop(items, send, 1 if bulk else CONCURRENCY)
                cpu = time.process_time() - cpu
            finally:
                await close()
            if (got := await held(store)) != len(orders):
                raise SystemExit(f"(g) {store_name} {client}: {store.namespace} holds {got}, expected {len(orders)}")
            into.rate.values.append(len(orders) / seconds)
            into.cpu_us.values.append(cpu / len(orders) * 1e6)
            return len(orders) / seconds
        finally:
            await close_store(store)
    return run


def _wins(alt: Samples, current: Samples) -> bool:
    """A clear win: the alternative's slowest repeat beat the current client's fastest, and its median by
    WIN_MARGIN. With 3 repeats a side, "every repeat faster" alone happens by chance once in 20 comparisons."""
    return (bool(alt.values and current.values) and min(alt.values) > max(current.values)
            and alt.median is not None and current.median is not None and alt.median >= WIN_MARGIN * current.median)


def _busy(m: Measured) -> str:
    """The share of one core the client used while sending (orders/s x CPU per order): far below 100%, the
    client was waiting for the server, so the server (or the machine's other load) set orders/s."""
    return f"{m.rate.median * m.cpu_us.median / 1e6:.0%}" if m.rate.median and m.cpu_us.median else "-"


def _times(top: Samples, bottom: Samples) -> str:
    return f"{top.median / bottom.median:.2f}x" if top.median and bottom.median else "-"


def section(results: dict[tuple[str, str, str], Measured], servers: dict[str, str], n_write: int,
            n_bulk: int) -> str:
    lines = [f"(g) client choice, bare loops: order write = one order per request, {CONCURRENCY} in flight, "
             f"{n_write:,} orders; bulk = {BATCH:,} orders per request, one in flight, {n_bulk:,} orders. "
             "CPU = the client process's CPU time per order (all threads); client busy = orders/s x CPU per order, the "
             "share of one core the client used. Against the MongoDB and Elasticsearch "
             "stand-ins (server column) the stand-in's own limits may decide orders/s; against the real servers "
             "the answer may differ, and the CPU column is the better guide to what a client costs.", "",
             "| store | work | client | server | orders/s | vs current | client CPU µs/order | vs current "
             "| client busy |", "|---|---|---|---|---:|---:|---:|---:|---:|"]
    verdicts = []
    for (store_name, kind, client), m in results.items():
        base = results[(store_name, kind, CURRENT[store_name])]
        note = " (current)" if client == CURRENT[store_name] else f" ({NOTES[client]})" if client in NOTES else ""
        lines.append(f"| {store_name} | {kind} | {client}{note} | {servers[store_name]} "
                     f"| {m.rate.cell()} | {_times(m.rate, base.rate)} | {m.cpu_us.cell()} "
                     f"| {_times(m.cpu_us, base.cpu_us)} | {_busy(m)} |")
        if client in CANDIDATES and _wins(m.rate, base.rate):
            verdicts.append(f"{client} beat {CURRENT[store_name]} clearly on the {store_name} {kind}")
    verdict = "; ".join(verdicts) if verdicts else (
        f"no candidate beat the current client clearly (every repeat faster and the median by "
        f"{WIN_MARGIN - 1:.0%})")
    return "\n".join(lines) + f"\n\nIn this run: {verdict} (the model stores keep PyMongo async and aiohttp: " \
        "docs/measurement.md says why).\n"
