"""The analytics query set in SQL: the reference every other store's answer is compared with."""

from __future__ import annotations

import asyncpg

from sandbox.stores.analytics import Analytics, Answer, Query, QueryParams, hour_key
from sandbox.workload.model import Catalog

SQL = {
    Query.REVENUE_BY_HOUR: """
        SELECT date_trunc('hour', created_at, 'UTC'), status::text, count(*), sum(total_amount)
        FROM {s}.orders GROUP BY 1, 2""",
    Query.TOP_CUSTOMERS: """
        SELECT customer_id::text, sum(total_amount) AS revenue FROM {s}.orders
        GROUP BY customer_id ORDER BY revenue DESC, customer_id::text COLLATE "C" LIMIT $1""",
    Query.LATEST_ORDER: """
        SELECT DISTINCT ON (customer_id) customer_id::text, id::text FROM {s}.orders
        ORDER BY customer_id, created_at DESC""",
    Query.ORDERS_ABOVE: """
        SELECT id::text, total_amount FROM {s}.orders
        WHERE created_at >= $1 AND created_at < $2 AND total_amount > $3""",
    Query.ITEMS_BY_CATEGORY: """
        SELECT p.category_id::text, sum(i.quantity)::bigint FROM {s}.order_items i
        JOIN {s}.products p ON p.id = i.product_id GROUP BY p.category_id""",
}
INDEXES = ("orders (created_at)",)  # (customer_id, created_at) and order_items (order_id) come with the schema


class PostgresAnalytics(Analytics):
    pool: asyncpg.Pool
    namespace: str

    async def prepare_analytics(self, catalog: Catalog) -> list[str]:
        for index in INDEXES:
            await self.pool.execute(f'CREATE INDEX ON "{self.namespace}".{index}')
        return [*INDEXES, "orders (customer_id, created_at) [schema]", "order_items (order_id) [schema]"]

    async def answer(self, query: Query, params: QueryParams) -> Answer:
        sql = SQL[query].format(s=f'"{self.namespace}"')
        if query is Query.REVENUE_BY_HOUR:
            rows = await self.pool.fetch(sql)
            return Answer({(hour_key(r[0]), r[1]): (r[2], r[3]) for r in rows})
        if query is Query.TOP_CUSTOMERS:
            rows = await self.pool.fetch(sql, params.top)
            return Answer.of([((r[0],), (r[1],)) for r in rows], ranked=True)
        if query is Query.ORDERS_ABOVE:
            rows = await self.pool.fetch(sql, params.window_start, params.window_end, params.min_total)
        else:
            rows = await self.pool.fetch(sql)
        return Answer({(r[0],): (r[1],) for r in rows})
