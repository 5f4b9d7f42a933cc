"""The analytics query set in SQL, on the orders model's design (`sandbox model show orders --store postgres`):
the reference every other store's answer is compared with.

Field expressions come from the design's layout (patterns.Layout), so the same questions run on the
normalized design (tables orders, order_items, products) and on `postgres:jsonb` (one JSONB document per
order and per product; the items inside the order's). The indexes the questions use are the design's own:
(created_at, id) for the time patterns, (customer_id, created_at, id) for each customer's latest orders.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from sandbox.stores.analytics import Answer, Query, QueryParams, hour_key
from sandbox.stores.postgres.patterns import Layout
from sandbox.workload.dataset import Dataset
from sandbox.workload.schema import Model


class PostgresAnalytics:
    pool: asyncpg.Pool
    namespace: str
    model: Model
    layout: Layout
    design: str  # normalized | jsonb

    def _f(self, field: str, alias: str = "o", entity: str | None = None) -> str:
        return self.layout.typed(entity or self.model.root, field, alias)

    def _sql(self, query: Query) -> str:
        orders = self.layout.table_name(self.model.root)
        products = self.layout.table_name("product")
        f = self._f
        if query is Query.REVENUE_BY_HOUR:
            return (f"SELECT date_trunc('hour', {f('created_at')}, 'UTC'), {f('status')}::text, count(*), "
                    f"sum({f('total_amount')}) FROM {orders} o GROUP BY 1, 2")
        if query is Query.TOP_CUSTOMERS:
            customer = f"{f('customer_id')}::text"
            return (f"SELECT {customer}, sum({f('total_amount')}) AS revenue FROM {orders} o "
                    f'GROUP BY 1 ORDER BY revenue DESC, {customer} COLLATE "C" LIMIT $1')
        if query is Query.LATEST_ORDER:
            return (f"SELECT DISTINCT ON ({f('customer_id')}) {f('customer_id')}::text, {f('id')}::text "
                    f"FROM {orders} o ORDER BY {f('customer_id')}, {f('created_at')} DESC")
        if query is Query.ORDERS_ABOVE:
            return (f"SELECT {f('id')}::text, {f('total_amount')} FROM {orders} o WHERE {f('created_at')} >= $1 "
                    f"AND {f('created_at')} < $2 AND {f('total_amount')} > $3")
        category, product_key = f("category_id", "p", "product"), f("id", "p", "product")
        if self.design == "jsonb":  # the items are inside the order's document
            return (f"SELECT {category}::text, sum((i->>'quantity')::bigint)::bigint FROM {orders} o "
                    f"CROSS JOIN jsonb_array_elements(o.doc->'items') i JOIN {products} p "
                    f"ON {product_key}::text = i->>'product_id' GROUP BY 1")
        items = self.layout.table_name("order_item")
        return (f"SELECT {category}::text, sum({f('quantity', 'i', 'order_item')})::bigint FROM {items} i "
                f"JOIN {products} p ON {product_key} = {f('product_id', 'i', 'order_item')} GROUP BY 1")

    async def prepare_analytics(self, data: Dataset) -> list[str]:
        rows = await self.pool.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 "
                                     "AND tablename = $2 ORDER BY 1", self.namespace,
                                     self.layout.table_name(self.model.root).rsplit(".", 1)[-1].strip('"'))
        return [f"{name} [design]: {definition.partition(' USING ')[2] or definition}" for name, definition in rows]

    async def answer_question(self, query: Query, params: QueryParams) -> Answer:
        sql = self._sql(query)
        if query is Query.REVENUE_BY_HOUR:
            rows = await self.pool.fetch(sql)
            return Answer({(hour_key(r[0]), r[1]): (r[2], r[3]) for r in rows})
        if query is Query.TOP_CUSTOMERS:
            rows = await self.pool.fetch(sql, params.top)
            return Answer.of([((r[0],), (r[1],)) for r in rows], ranked=True)
        args: tuple[Any, ...] = ()
        if query is Query.ORDERS_ABOVE:
            args = (params.window_start, params.window_end, params.min_total)
        rows = await self.pool.fetch(sql, *args)
        return Answer({(r[0],): (r[1],) for r in rows})
