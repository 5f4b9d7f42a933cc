"""The analytics query set in InfluxQL, on the orders model's measurement (`orders`: tags status and
customer_segment, the other scalars as fields; `sandbox model show orders --store influx`).

InfluxQL groups by time and tags only: customer_id is a field (a tag per customer would be a series per
customer) and the measurement keeps no items, so three questions are not answerable from this design.
A lean design (`fields = [...]`) that leaves out total_amount cannot answer the other two either.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.stores.analytics import Answer, NotAnswerable, Query, QueryParams, hour_key
from sandbox.stores.influx.mapping import Design, Measurement, ident
from sandbox.workload.dataset import Dataset
from sandbox.workload.schema import Model

NO_CUSTOMER = "customer_id is a field of the {m} measurement, not a tag (a tag per customer would be a series " \
              "per customer; InfluxQL groups by tags only)"
NO_ITEMS = "the {m} measurement keeps an order's item_count, not its items or products"


def _ms(moment: datetime) -> str:
    return f"{int(moment.timestamp() * 1000)}ms"


class InfluxAnalytics:
    design: Design
    model: Model

    async def query(self, q: str, *, post: bool = False) -> list[dict[str, Any]]:
        raise NotImplementedError  # the model store's

    @property
    def _orders(self) -> Measurement:
        return self.design.measurements[self.model.root]

    async def prepare_analytics(self, data: Dataset) -> list[str]:
        tags = ", ".join(c.name for c in self._orders.tags)
        return [f"none: the time index and the tag index ({tags}) are built in"]

    def _needs(self, *fields: str) -> None:
        m = self._orders
        for f in fields:
            if m.column(f) is None:
                raise NotAnswerable(f"{f} is not kept in the {m.name} measurement of this design")

    async def answer_question(self, query: Query, params: QueryParams) -> Answer:
        m = self._orders
        if query in (Query.TOP_CUSTOMERS, Query.LATEST_ORDER):
            raise NotAnswerable(NO_CUSTOMER.format(m=m.name))
        if query is Query.ITEMS_BY_CATEGORY:
            raise NotAnswerable(NO_ITEMS.format(m=m.name))
        self._needs("total_amount")
        name, total = ident(m.name), ident("total_amount")
        if query is Query.REVENUE_BY_HOUR:
            series = await self.query(
                f"SELECT count({total}), sum({total}) FROM {name} WHERE time >= {_ms(params.span_start)} AND "
                f"time < {_ms(params.span_end)} GROUP BY time(1h), {ident('status')} fill(none)")
            return Answer({(hour_key(t), s["tags"]["status"]): (int(count), Decimal(repr(value)))
                           for s in series for t, count, value in s["values"]})
        series = await self.query(
            f"SELECT {ident(m.key)}, {total} FROM {name} WHERE time >= {_ms(params.window_start)} AND "
            f"time < {_ms(params.window_end)} AND {total} > {params.min_total}")
        return Answer({(str(key),): (Decimal(repr(value)),) for s in series for _, key, value in s["values"]})

