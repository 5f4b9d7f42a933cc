"""The analytics query set every store is asked in its own language, and the shape of an answer.

Five questions (TSBS's query types recast for orders): revenue and order count per hour per status
(double-groupby), the top customers by revenue (groupby-orderby-limit), each customer's latest order
(lastpoint), orders above a value in a time window (high-cpu), items sold per product category.
They are questions of the orders model (models/orders.toml): a model store that can answer them implements
`Analytics` (its `analytics.py`, over the physical names of its orders design, `sandbox model show orders
--store S`). A question its design cannot answer raises NotAnswerable with the reason: fetching everything
and computing the answer client-side is not the store answering, so it is never done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from sandbox.workload.dataset import Dataset

MODEL = "orders"  # the model the questions are about


class Query(StrEnum):
    REVENUE_BY_HOUR = "revenue_by_hour_status"
    TOP_CUSTOMERS = "top_customers"
    LATEST_ORDER = "latest_order_per_customer"
    ORDERS_ABOVE = "orders_above_in_window"
    ITEMS_BY_CATEGORY = "items_by_category"


DESCRIPTIONS = {
    Query.REVENUE_BY_HOUR: "revenue and order count per hour per status",
    Query.TOP_CUSTOMERS: "top customers by revenue",
    Query.LATEST_ORDER: "each customer's latest order",
    Query.ORDERS_ABOVE: "orders above a value in a time window",
    Query.ITEMS_BY_CATEGORY: "items sold per product category",
}

Value = Decimal | int | str
Key = tuple[str, ...]


@dataclass(frozen=True)
class QueryParams:
    """The query set's parameters for one run (the window and threshold are chosen from the load)."""

    customers: tuple[str, ...]  # the customers' ids (lastpoint keys)
    category_of: Mapping[str, str]  # product id -> category id
    span_start: datetime  # the loaded orders' first created_at (time-bounded stores need bounds)
    span_end: datetime  # ... and a moment after the last one
    window_start: datetime  # orders above: created_at >= window_start
    window_end: datetime  # ... and < window_end
    min_total: Decimal  # ... and total_amount > min_total
    top: int = 10

    @staticmethod
    def catalog(data: Dataset) -> tuple[tuple[str, ...], dict[str, str]]:
        """(customer ids, product id -> category id) from the orders model's reference data."""
        return (tuple(str(c["id"]) for c in data.reference["customer"]),
                {str(p["id"]): str(p["category_id"]) for p in data.reference["product"]})


@dataclass(frozen=True)
class Answer:
    """Rows keyed by their group (hour+status, customer, order, category); values in COLUMNS[query]
    order. Money is Decimal: exact where the store keeps exact money, a float's repr where it does not."""

    rows: dict[Key, tuple[Value, ...]]
    ranked: tuple[Key, ...] = ()  # the keys in the store's order, for ranked questions (top customers)
    how: str = ""  # how the store answered, when it is more than one native query

    @staticmethod
    def of(pairs: list[tuple[Key, tuple[Value, ...]]], ranked: bool = False, how: str = "") -> Answer:
        return Answer(dict(pairs), tuple(k for k, _ in pairs) if ranked else (), how)


COLUMNS: dict[Query, tuple[str, ...]] = {
    Query.REVENUE_BY_HOUR: ("count", "revenue"),
    Query.TOP_CUSTOMERS: ("revenue",),
    Query.LATEST_ORDER: ("order_id",),
    Query.ORDERS_ABOVE: ("total",),
    Query.ITEMS_BY_CATEGORY: ("quantity",),
}


class NotAnswerable(Exception):
    """The store's data model cannot answer this question with a query of its own."""


def hour_key(moment: datetime | int | float | str) -> str:
    """An hour bucket as the same text whatever the store returned: a datetime, epoch ms, or ISO text."""
    if isinstance(moment, int | float):
        moment = datetime.fromtimestamp(moment / 1000, UTC)
    elif isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:00Z")


@runtime_checkable
class Analytics(Protocol):
    """A model store's capability (stores/contract.py style): answer the query set natively, on the orders
    model's design."""

    async def prepare_analytics(self, data: Dataset) -> list[str]:
        """Create what the query set needs beyond the design in this run's namespace, after prepare(); describe
        each (and what the design brings) for the report."""

    async def answer_question(self, query: Query, params: QueryParams) -> Answer:
        """Answer one question with the store's own query language; NotAnswerable when the design cannot."""
