"""The analytics query set against the Redis model: hashes, index sets, per-status counters.

Redis answers what its keys were built to answer: each customer's latest order is the top of that
customer's sorted set. The rest would mean fetching every order hash and aggregating client-side, which
is the client answering, not Redis: those questions are reported as not answerable from this model.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from sandbox.stores.analytics import Analytics, Answer, NotAnswerable, Query, QueryParams
from sandbox.workload.model import Catalog

UNANSWERABLE = {
    Query.REVENUE_BY_HOUR: "counters are per status only; no per-hour buckets are kept",
    Query.TOP_CUSTOMERS: "no per-customer revenue is kept (it would need a sorted set maintained on write)",
    Query.ORDERS_ABOVE: "no index on order value: the time window's hashes would all be fetched and filtered",
    Query.ITEMS_BY_CATEGORY: "items are JSON inside each order hash; no per-product or per-category counters",
}


class RedisAnalytics(Analytics):
    client: aioredis.Redis

    def _key(self, *parts: str) -> str:
        raise NotImplementedError  # the adapter's

    async def prepare_analytics(self, catalog: Catalog) -> list[str]:
        return ["none: customer:<id> sorted sets (by created_at) are kept on every write"]

    async def answer(self, query: Query, params: QueryParams) -> Answer:
        if query in UNANSWERABLE:
            raise NotAnswerable(UNANSWERABLE[query])
        customers = [c.id for c in params.catalog.customers]
        async with self.client.pipeline(transaction=False) as pipe:
            for customer in customers:
                pipe.zrevrange(self._key("customer", customer), 0, 0)
            latest = await pipe.execute()
        return Answer({(c,): (str(ids[0]),) for c, ids in zip(customers, latest, strict=True) if ids},
                      how=f"ZREVRANGE 0 0 of each of the catalog's {len(customers)} customers, one pipeline")
