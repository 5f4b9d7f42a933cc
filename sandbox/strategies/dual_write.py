"""Dual write: the playbook's save_order. The application writes the order to every store itself.

Sequential (the playbook's code): PostgreSQL, then MongoDB, Redis, Elasticsearch, InfluxDB, stopping at
the first failure, so the stores before it keep the order and the ones after never see it. Concurrent:
all stores at once; the client hears "failed" if any store failed, but the others keep the order.
Neither has recovery: whatever diverged during a fault stays diverged.
"""

from __future__ import annotations

import asyncio

from sandbox.strategies.base import Strategy
from sandbox.workload.model import Order


class DualWrite(Strategy):
    name = "dual-write"
    tag = "dw"
    description = "the playbook's save_order: each store in turn, no recovery"

    async def place(self, order: Order, index: int) -> Order | None:
        rank = self.options.order  # the registry's: PostgreSQL, MongoDB, Redis, Elasticsearch, InfluxDB, plugins
        for name in sorted(self.stores, key=lambda s: rank.index(s) if s in rank else len(rank)):
            if not await self.stores[name].write(order):
                return None  # the exception reaches the caller; earlier stores keep the order
        return order


class ConcurrentDualWrite(Strategy):
    name = "dual-write-concurrent"
    tag = "dwc"
    description = "all stores at once per order, no recovery"

    async def place(self, order: Order, index: int) -> Order | None:
        done = await asyncio.gather(*(ts.write(order) for ts in self.stores.values()))
        return order if all(done) else None
