"""Do the stores answer the analytics questions alike? Each answer against PostgreSQL's.

Money compares exactly; a sum that differs only below half a cent is float drift (reported as drift,
not hidden, as the consistency table does); anything else is a difference, with examples.
`reference_answer` computes the answers from the generated orders themselves (instances of the orders model),
for tests of the reference store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sandbox.stores.analytics import COLUMNS, Answer, Key, Query, QueryParams, Value, hour_key
from sandbox.workload.dataset import Dataset, Instance

EXAMPLES = 3
CENT = Decimal("0.01")


@dataclass
class QueryCheck:
    """One store's answer to one question, against the reference's."""

    store: str
    query: Query
    kind: str = "agrees"  # agrees | drift | differs | not answerable | error | reference (PostgreSQL's own)
    rows: int = 0
    missing: int = 0  # groups the reference has and the store does not
    extra: int = 0
    differing: int = 0
    drift: Decimal = Decimal(0)  # sum of |difference| of the money cells that drift
    examples: list[str] = field(default_factory=list)
    reason: str = ""  # why not answerable, or the error
    how: str = ""

    def to_json(self) -> dict[str, object]:
        return {"store": self.store, "query": self.query.value, "kind": self.kind, "rows": self.rows,
                "missing": self.missing, "extra": self.extra, "differing": self.differing,
                "drift": str(self.drift), "examples": self.examples, "reason": self.reason, "how": self.how}


def compare_answer(store: str, query: Query, reference: Answer, got: Answer) -> QueryCheck:
    check = QueryCheck(store, query, rows=len(got.rows), how=got.how)
    columns = COLUMNS[query]

    def example(text: str) -> None:
        if len(check.examples) < EXAMPLES:
            check.examples.append(text)

    for key, want in reference.rows.items():
        have = got.rows.get(key)
        if have is None:
            check.missing += 1
            example(f"{'/'.join(key)}: missing (expected {_show(want)})")
            continue
        drifted = Decimal(0)
        bad = []
        for name, w, h in zip(columns, want, have, strict=True):
            if w == h:
                continue
            if isinstance(w, Decimal) and isinstance(h, Decimal) and h.quantize(CENT) == w:
                drifted += abs(h - w)
            else:
                bad.append(f"{name} {h} (expected {w})")
        if bad:
            check.differing += 1
            example(f"{'/'.join(key)}: " + ", ".join(bad))
        check.drift += drifted
    for key, have in got.rows.items():
        if key not in reference.rows:
            check.extra += 1
            example(f"{'/'.join(key)}: extra {_show(have)}")
    if reference.ranked and got.ranked != reference.ranked and not (check.missing or check.extra):
        check.differing += 1
        example(f"rank order {[k[0][:8] for k in got.ranked]} (expected {[k[0][:8] for k in reference.ranked]})")
    if check.missing or check.extra or check.differing:
        check.kind = "differs"
    elif check.drift:
        check.kind = "drift"
    return check


def _show(values: tuple[Value, ...]) -> str:
    return ", ".join(str(v) for v in values)


def reference_answer(query: Query, orders: Iterable[Instance], params: QueryParams) -> Answer:
    """The answer computed from the orders themselves (what PostgreSQL must return)."""
    if query is Query.REVENUE_BY_HOUR:
        groups: dict[Key, list[Value]] = {}
        for o in orders:
            row = groups.setdefault((hour_key(o["created_at"]), str(o["status"])), [0, Decimal("0.00")])
            row[0] = int(row[0]) + 1
            row[1] = Decimal(row[1]) + o["total_amount"]
        return Answer({k: tuple(v) for k, v in groups.items()})
    if query is Query.TOP_CUSTOMERS:
        revenue: dict[str, Decimal] = {}
        for o in orders:
            customer = str(o["customer_id"])
            revenue[customer] = revenue.get(customer, Decimal("0.00")) + o["total_amount"]
        top = sorted(revenue.items(), key=lambda kv: (-kv[1], kv[0]))[:params.top]
        return Answer.of([((c,), (r,)) for c, r in top], ranked=True)
    if query is Query.LATEST_ORDER:
        latest: dict[str, Instance] = {}
        for o in orders:
            customer = str(o["customer_id"])
            if customer not in latest or o["created_at"] > latest[customer]["created_at"]:
                latest[customer] = o
        return Answer({(c,): (str(o["id"]),) for c, o in latest.items()})
    if query is Query.ORDERS_ABOVE:
        return Answer({(str(o["id"]),): (o["total_amount"],) for o in orders
                       if params.window_start <= o["created_at"] < params.window_end
                       and o["total_amount"] > params.min_total})
    sold: dict[Key, int] = {}
    for o in orders:
        for item in o["items"]:
            key = (params.category_of[str(item["product_id"])],)
            sold[key] = sold.get(key, 0) + item["quantity"]
    return Answer({k: (v,) for k, v in sold.items()})


def query_params(data: Dataset, loaded: int, window_share: float = 0.02,
                 min_total: Decimal = Decimal("1000.00"), top: int = 10) -> QueryParams:
    """The query set's parameters for the first `loaded` orders of a dataset of the orders model: the loaded
    span, and a window of `window_share` of it in the middle for the orders-above question."""
    first, last = data.root(0)["created_at"], data.root(loaded - 1)["created_at"]
    middle, half = first + (last - first) / 2, (last - first) * window_share / 2
    customers, category_of = QueryParams.catalog(data)
    return QueryParams(customers, category_of, first, last + timedelta(milliseconds=1), _whole_ms(middle - half),
                       _whole_ms(middle + half), min_total, top)


def _whole_ms(moment: datetime) -> datetime:
    """Bounds in whole milliseconds: PostgreSQL compares microseconds, MongoDB, Elasticsearch and InfluxDB
    (as written here) milliseconds, so a bound inside a millisecond would split the stores' answers."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
