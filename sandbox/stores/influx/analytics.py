"""The analytics query set in InfluxQL, where the order_metrics measurement can answer it.

Tags are status and customer_segment; order_value (float64), item_count and order_id are fields. InfluxQL
groups by time and tags only, and the measurement keeps neither customers nor items.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.stores.analytics import Analytics, Answer, NotAnswerable, Query, QueryParams, hour_key
from sandbox.workload.model import Catalog

MEASUREMENT = "order_metrics"
NO_CUSTOMER = "order_metrics has no customer: customer_id is neither a tag nor a field (a tag per customer " \
              "would be a series per customer; InfluxQL groups by tags only)"
UNANSWERABLE = {
    Query.TOP_CUSTOMERS: NO_CUSTOMER,
    Query.LATEST_ORDER: NO_CUSTOMER,
    Query.ITEMS_BY_CATEGORY: "order_metrics keeps an order's item_count, not its items or products",
}


def _ms(moment: Any) -> str:
    return f"{int(moment.timestamp() * 1000)}ms"


class InfluxAnalytics(Analytics):
    async def _query(self, q: str, *, post: bool = False) -> list[dict[str, Any]]:
        raise NotImplementedError  # the adapter's

    async def prepare_analytics(self, catalog: Catalog) -> list[str]:
        return ["none: the time index and the tag index (status, customer_segment) are built in"]

    async def answer(self, query: Query, params: QueryParams) -> Answer:
        if query in UNANSWERABLE:
            raise NotAnswerable(UNANSWERABLE[query])
        if query is Query.REVENUE_BY_HOUR:
            series = await self._query(
                f"SELECT count(order_value), sum(order_value) FROM {MEASUREMENT} "
                f"WHERE time >= {_ms(params.span_start)} AND time < {_ms(params.span_end)} "
                "GROUP BY time(1h), status fill(none)")
            return Answer({(hour_key(t), s["tags"]["status"]): (int(count), Decimal(repr(total)))
                           for s in series for t, count, total in s["values"]})
        series = await self._query(
            f"SELECT order_id, order_value FROM {MEASUREMENT} WHERE time >= {_ms(params.window_start)} "
            f"AND time < {_ms(params.window_end)} AND order_value > {params.min_total}")
        return Answer({(order_id,): (Decimal(repr(value)),) for s in series for _, order_id, value in s["values"]})
