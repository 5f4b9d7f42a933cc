"""The analytics query set against the Redis design of the orders model (`sandbox model show orders --store
redis`): hashes, and the sorted sets and counters its access patterns keep on every write.

Redis answers what its keys were built to answer: revenue and order count per hour per status is the
counter hash of the hourly aggregate pattern (`{ns}:orders:agg:revenue_per_hour`, exact integer units), each
customer's latest order the top of that customer's sorted set (`{ns}:orders:customer_id=<id>:by:created_at`).
The rest would mean fetching every order hash and aggregating client-side, which is the client answering,
not Redis: those questions are reported as not answerable from this model.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.stores.analytics import Answer, NotAnswerable, Query, QueryParams, hour_key
from sandbox.stores.contract import exact
from sandbox.stores.redis.mapping import SEP, Column, Counter, Design, Layout, SortedIndex, decode, index_key
from sandbox.workload.dataset import Dataset
from sandbox.workload.schema import Model

HOUR_MS = 3_600_000
BUCKET = Column("bucket", "timestamp")  # a bucket's start, epoch ms in the counter's field name
UNANSWERABLE = {
    Query.TOP_CUSTOMERS: "no per-customer revenue is kept (it would need a sorted set maintained on write)",
    Query.ORDERS_ABOVE: "no index on order value: the time window's hashes would all be fetched and filtered",
    Query.ITEMS_BY_CATEGORY: "items are JSON inside each order hash; no per-product or per-category counters",
}


class RedisAnalytics:
    design: Design
    model: Model
    namespace: str
    client: Any

    @property
    def _orders(self) -> Layout:
        return self.design.layouts[self.model.root]

    def _hourly(self) -> Counter | None:
        """The counter an hourly aggregate by status keeps (count and exact sum of total_amount)."""
        for s in self._orders.structures:
            if isinstance(s, Counter) and not s.where and s.bucket is not None and s.bucket.every_ms == HOUR_MS \
                    and s.bucket.field == "created_at" and s.group_by == ("status",) and "total_amount" in s.sums:
                return s
        return None

    def _by_customer(self) -> SortedIndex | None:
        for s in self._orders.structures:
            if isinstance(s, SortedIndex) and s.where == ("customer_id",) and s.score == "created_at":
                return s
        return None

    async def prepare_analytics(self, data: Dataset) -> list[str]:
        kept = []
        if (c := self._hourly()) is not None:
            kept.append(f"{index_key(self.namespace, self._orders, c, ())} counters (pattern {c.pattern})")
        if (s := self._by_customer()) is not None:
            kept.append(f"{index_key(self.namespace, self._orders, s, ('<id>',))} sorted sets")
        return [f"none: {', '.join(kept) or 'no structure'} kept on every write"]

    async def answer_question(self, query: Query, params: QueryParams) -> Answer:
        if query in UNANSWERABLE:
            raise NotAnswerable(UNANSWERABLE[query])
        if query is Query.REVENUE_BY_HOUR:
            counter = self._hourly()
            if counter is None:
                raise NotAnswerable("this design keeps no hourly counters by status (no such aggregate pattern)")
            return await self._revenue_by_hour(counter)
        index = self._by_customer()
        if index is None:
            raise NotAnswerable("this design keeps no sorted set of each customer's orders by created_at")
        layout = self._orders
        async with self.client.pipeline(transaction=False) as pipe:
            for customer in params.customers:
                pipe.zrevrange(index_key(self.namespace, layout, index, (customer,)), 0, 0)
            latest = await pipe.execute()
        return Answer({(c,): (str(ids[0]),) for c, ids in zip(params.customers, latest, strict=True) if ids},
                      how=f"ZREVRANGE 0 0 of each of the catalog's {len(params.customers)} customers, one pipeline")

    async def _revenue_by_hour(self, counter: Counter) -> Answer:
        layout = self._orders
        column = layout.column("total_amount")
        assert column is not None
        raw = await self.client.hgetall(index_key(self.namespace, layout, counter, ()))
        figures: dict[str, dict[str, str]] = {}
        for name, value in raw.items():
            figure, _, group = name.partition("|")
            figures.setdefault(group, {})[figure] = value
        rows: dict[tuple[str, ...], tuple[Any, ...]] = {}
        for group, fig in figures.items():
            n = int(fig.get("n", 0))
            if n <= 0:
                continue  # every order of the group moved to another status
            bucket, status = group.split(SEP)
            total = exact(Decimal(int(fig.get("s.total_amount", "0"))).scaleb(-column.scale), column.scale)
            rows[(hour_key(decode(BUCKET, bucket)), status)] = (n, total)
        return Answer(rows, how=f"HGETALL of the hourly counters (pattern {counter.pattern})")
