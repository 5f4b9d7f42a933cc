"""The one small async interface every store adapter implements (after go-ycsb's DB and YCSB's DB.java).

Adapters only talk to their store: no timing, no retries, no logging of results. Timing and
error counting live in sandbox.measure.timing, around these calls.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from sandbox.config import Endpoint
from sandbox.stores.server_stats import ServerStats, unavailable
from sandbox.workload.model import Catalog, Order, OrderRecord


@dataclass(frozen=True)
class ServerInfo:
    """What the server says it is, so nobody mistakes a stand-in for the real product."""

    product: str
    version: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.product} {self.version}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class StatusTotal:
    """Order count and revenue for one status, computed by the store's own aggregation path."""

    count: int
    revenue: Decimal  # exact where the store keeps exact money; a float's repr where it does not


class Capability(StrEnum):
    """What a store kind can do beyond the core interface; strategies and scenarios declare what they need."""

    BATCH_WRITE = "batch_write"  # write_batch is one round trip, not a loop of writes
    UPSERT = "upsert"  # idempotent, version-gated upsert (relays, projections)
    SEARCH_PATH = "search_path"  # readers query a separate path (search, InfluxQL) with its own lag
    REPLICAS = "replicas"  # read replicas can be brought up and read from
    CLUSTER = "cluster"  # a sharded cluster topology
    ANALYTICS = "analytics"  # answers the analytics query set natively (stores/analytics.py Analytics)
    STATUS_UPDATE = "status_update"  # update_status: an order's status set at a version, never over a newer one
    STOCK = "stock"  # take_stock: stock decrements with the store's own concurrency control (never below zero)
    CUSTOMER_LATEST = "customer_latest"  # latest_orders: a customer's newest orders (a secondary index)
    TIME_RANGE = "time_range"  # orders_between: the orders created in a time range


@dataclass(frozen=True)
class StoreOptions:
    """Client options every store has; a kind with knobs of its own subclasses it (its `options` type).

    A run passes its knobs by name (`es_refresh`, `redis_ttl_s`, ...); each kind keeps the ones its
    options type has a field for (see StoreKind.options_for)."""

    connections: int = 8  # connection pool size; the runner sets it to the run's concurrency


class Store(ABC):
    """A store adapter bound to one run's namespace."""

    name: ClassVar[str]
    money_note: ClassVar[str] = "exact decimal"
    # How update_status and take_stock stay correct under concurrency (or why the store does not offer them).
    concurrency_control: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    Options: ClassVar[type[StoreOptions]] = StoreOptions  # this kind's own typed options

    def __init__(self, endpoint: Endpoint, namespace: str, options: StoreOptions | None = None):
        self.endpoint = endpoint
        self.namespace = namespace  # e.g. "sbx_20261125t2132_ab12": unique to one run
        self.options = options or self.Options()

    @abstractmethod
    async def connect(self) -> ServerInfo:
        """Open connections and return what the server reports about itself."""

    @abstractmethod
    async def prepare(self, catalog: Catalog) -> None:
        """Create this run's namespace (failing if it already exists) and load reference data."""

    @abstractmethod
    async def write(self, order: Order) -> None:
        """Store one order atomically (the order and its items together)."""

    async def write_batch(self, orders: Sequence[Order]) -> None:
        """Store several orders in one round trip where the store offers one."""
        for order in orders:
            await self.write(order)

    async def upsert(self, order: Order, version: int) -> bool:
        """Idempotent write of an order's state at an event version, keyed by order id.

        Applies only if the store holds an older version (or none): True when applied, False when
        the store already had this version or a newer one. Relays and projections deliver at least
        once, so a redelivery must change nothing.
        """
        raise NotImplementedError(f"{self.name} has no idempotent upsert")

    async def update_status(self, order_id: str, status: str, version: int) -> bool:
        """Set an order's status at `version`, only over an older version (an inserted order is version 1).

        True when applied; False when the store holds this version or a newer one, or no such order."""
        raise NotImplementedError(f"{self.name} cannot update an order safely")

    async def take_stock(self, items: Sequence[tuple[str, int]]) -> bool:
        """Decrement each (product id, quantity)'s stock, all or none, never below zero: False when short."""
        raise NotImplementedError(f"{self.name} keeps no stock")

    async def latest_orders(self, customer_id: str, n: int) -> list[str]:
        """Ids of a customer's `n` newest orders, newest first."""
        raise NotImplementedError(f"{self.name} cannot list a customer's orders")

    async def orders_between(self, start: datetime, end: datetime, limit: int) -> list[str]:
        """Ids of the orders created in [start, end), oldest first, at most `limit`."""
        raise NotImplementedError(f"{self.name} cannot scan orders by time")

    async def order_states(self, order_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """(status, version) of each order found (for the update checker)."""
        raise NotImplementedError(f"{self.name} keeps no order versions")

    async def stock_levels(self, product_ids: Sequence[str]) -> dict[str, int]:
        """Stock left per product found (for the update checker)."""
        raise NotImplementedError(f"{self.name} keeps no stock")

    @abstractmethod
    async def read(self, order_id: str) -> OrderRecord | None:
        """One order by id, as a reader would fetch it; None when absent."""

    async def visible(self, order_id: str) -> bool:
        """Whether a reader's query finds the order now (for visibility lag). The read by id is the
        reader's path where reads are immediate; stores with a separate search path override this."""
        return await self.read(order_id) is not None

    @abstractmethod
    def scan(self) -> AsyncIterator[OrderRecord]:
        """Every order in this run's namespace, in no particular order."""

    @abstractmethod
    async def aggregates(self) -> dict[str, StatusTotal]:
        """Order count and revenue by status, as the store itself computes them."""

    @abstractmethod
    async def teardown(self) -> None:
        """Drop this run's namespace, and only it, if prepare created it."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections."""

    async def server_stats(self) -> ServerStats:
        """What the server reports about its own work now (sandbox.stores.server_stats); cumulative counters."""
        return unavailable("-", f"{self.name}: the sandbox does not ask this server for statistics")

    async def server_settings(self) -> dict[str, str]:
        """The server's durability settings as it reports them now (empty where it cannot be asked)."""
        return {}

    def describe(self) -> str:
        """How the order is modelled in this store, for reports."""
        return ""
