"""A store that does nothing: measures the harness itself (calibration)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sandbox.stores.base import Capability, ServerInfo, StatusTotal, Store
from sandbox.workload.model import Catalog, Order, OrderRecord


class NoopStore(Store):
    name = "noop"
    capabilities = frozenset({Capability.UPSERT})

    async def connect(self) -> ServerInfo:
        return ServerInfo("no-op", "-", "harness calibration")

    async def prepare(self, catalog: Catalog) -> None:
        pass

    async def write(self, order: Order) -> None:
        pass

    async def upsert(self, order: Order, version: int) -> bool:
        return True

    async def read(self, order_id: str) -> OrderRecord | None:
        return None

    async def scan(self) -> AsyncIterator[OrderRecord]:
        return
        yield  # an async generator that yields nothing

    async def aggregates(self) -> dict[str, StatusTotal]:
        return {}

    async def teardown(self) -> None:
        pass

    async def close(self) -> None:
        pass
