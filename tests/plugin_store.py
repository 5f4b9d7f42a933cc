"""A store kind defined outside the sandbox package: orders kept in a dict in the client process.

The plugin test names it in SANDBOX_STORE_PLUGINS (or a config file's store_plugins) and checks
that every part of the sandbox picks it up without any other edit. No server: nothing to start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

from sandbox.stores.base import ServerInfo, StatusTotal, Store
from sandbox.stores.kind import StoreKind
from sandbox.workload.model import Catalog, Order, OrderRecord


class MemoryStore(Store):
    name = "memory"
    money_note = "exact decimal (in process)"

    async def connect(self) -> ServerInfo:
        self.orders: dict[str, OrderRecord] = {}
        return ServerInfo("in-process dict", "1", "test plugin")

    async def prepare(self, catalog: Catalog) -> None:
        pass

    async def write(self, order: Order) -> None:
        self.orders[order.id] = order.record()

    async def read(self, order_id: str) -> OrderRecord | None:
        return self.orders.get(order_id)

    async def scan(self) -> AsyncIterator[OrderRecord]:
        for record in list(self.orders.values()):
            yield record

    async def aggregates(self) -> dict[str, StatusTotal]:
        totals: dict[str, StatusTotal] = {}
        for r in self.orders.values():
            seen = totals.get(r.status or "", StatusTotal(0, Decimal(0)))
            totals[r.status or ""] = StatusTotal(seen.count + 1, seen.revenue + (r.total or Decimal(0)))
        return totals

    async def teardown(self) -> None:
        self.orders.clear()

    async def close(self) -> None:
        pass

    def describe(self) -> str:
        return "a dict of order records in the client process"


KIND = StoreKind(name="memory", adapter=MemoryStore, schemes=("memory",), hostless_schemes=("memory",),
                 default_url=lambda backend, env, port: "memory://", client_libraries=("pytest",))
