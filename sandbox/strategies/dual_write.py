"""Dual write: the playbook's save_order. The application writes the root instance to every store itself.

Sequential (the playbook's code): PostgreSQL, then MongoDB, Redis, Elasticsearch, InfluxDB (the registry's
order of kinds), stopping at the first failure, so the stores before it keep the instance and the ones after
never see it. Concurrent: all stores at once; the client hears "failed" if any store failed, but the others
keep it. Neither has recovery: whatever diverged during a fault stays diverged. Any model's root.
"""

from __future__ import annotations

import asyncio

from sandbox.strategies.base import Strategy
from sandbox.workload.dataset import Instance


class DualWrite(Strategy):
    name = "dual-write"
    tag = "dw"
    description = "the playbook's save_order: each store in turn, no recovery"

    async def place(self, instance: Instance, index: int) -> Instance | None:
        rank = self.options.order  # the registry's: PostgreSQL, MongoDB, Redis, Elasticsearch, InfluxDB, plugins

        def place_of(store: str) -> int:
            kind = store.partition(":")[0]  # a design of a kind ("mongo:referenced") goes with its kind
            return rank.index(kind) if kind in rank else len(rank)

        for name in sorted(self.stores, key=place_of):
            if not await self.stores[name].write(instance):
                return None  # the exception reaches the caller; earlier stores keep the instance
        return instance


class ConcurrentDualWrite(Strategy):
    name = "dual-write-concurrent"
    tag = "dwc"
    description = "all stores at once per root instance, no recovery"

    async def place(self, instance: Instance, index: int) -> Instance | None:
        done = await asyncio.gather(*(ts.write(instance) for ts in self.stores.values()))
        return instance if all(done) else None
