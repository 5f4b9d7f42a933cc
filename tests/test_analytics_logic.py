"""The analytics comparison on hand-made answers: exact money, float drift, missing, extra, rank order."""

from __future__ import annotations

from decimal import Decimal

from sandbox.experiments.analytics.answers import compare_answer, query_params, reference_answer
from sandbox.stores.analytics import Answer, Query, hour_key
from sandbox.workload import model_file
from sandbox.workload.dataset import Dataset, Sizes
from tests.helpers import PROJECT

HOURLY = Answer({("2026-01-01T00:00Z", "pending"): (3, Decimal("10.10")),
                 ("2026-01-01T01:00Z", "pending"): (1, Decimal("5.00"))})


def test_identical_answers_agree() -> None:
    assert compare_answer("x", Query.REVENUE_BY_HOUR, HOURLY, HOURLY).kind == "agrees"


def test_float_sum_within_half_a_cent_is_drift_not_agreement() -> None:
    got = Answer({**HOURLY.rows, ("2026-01-01T00:00Z", "pending"): (3, Decimal("10.100000000000001"))})
    check = compare_answer("x", Query.REVENUE_BY_HOUR, HOURLY, got)
    assert check.kind == "drift" and check.drift == Decimal("0.000000000000001")


def test_a_cent_off_count_off_missing_and_extra_rows_differ() -> None:
    for rows in ({**HOURLY.rows, ("2026-01-01T00:00Z", "pending"): (3, Decimal("10.11"))},
                 {**HOURLY.rows, ("2026-01-01T00:00Z", "pending"): (4, Decimal("10.10"))},
                 {("2026-01-01T00:00Z", "pending"): (3, Decimal("10.10"))},
                 {**HOURLY.rows, ("2026-01-01T02:00Z", "pending"): (1, Decimal("1.00"))}):
        check = compare_answer("x", Query.REVENUE_BY_HOUR, HOURLY, Answer(rows))
        assert check.kind == "differs" and check.examples, rows


def test_same_top_customers_in_another_order_differ() -> None:
    want = Answer.of([(("a",), (Decimal("9.00"),)), (("b",), (Decimal("8.00"),))], ranked=True)
    got = Answer.of([(("b",), (Decimal("8.00"),)), (("a",), (Decimal("9.00"),))], ranked=True)
    assert compare_answer("x", Query.TOP_CUSTOMERS, want, got).kind == "differs"


def test_hour_key_is_the_same_for_every_representation() -> None:
    assert hour_key(1767229200000) == hour_key("2026-01-01T01:59:59.999Z") == "2026-01-01T01:00Z"


def test_reference_answers_follow_the_orders() -> None:
    data = Dataset(model_file.load(PROJECT / "models" / "orders.toml"), 5, Sizes(200, {"customer": 10, "product": 8}))
    orders = list(data.roots())
    params = query_params(data, len(orders), window_share=0.5, min_total=Decimal("300.00"))
    top = reference_answer(Query.TOP_CUSTOMERS, orders, params)
    assert len(top.ranked) == 10 and list(top.rows.values()) == sorted(top.rows.values(), reverse=True)
    above = reference_answer(Query.ORDERS_ABOVE, orders, params)
    assert 0 < len(above.rows) < 100 and all(v[0] > Decimal("300.00") for v in above.rows.values())
    sold = reference_answer(Query.ITEMS_BY_CATEGORY, orders, params)
    assert sum(v[0] for v in sold.rows.values()) == sum(i["quantity"] for o in orders for i in o["items"])
    hourly = reference_answer(Query.REVENUE_BY_HOUR, orders, params)
    assert sum(v[0] for v in hourly.rows.values()) == len(orders)


def test_another_model_is_refused_before_anything_connects() -> None:
    import pytest

    from sandbox.errors import UsageError
    from sandbox.scenario.spec import RunParams
    from tests.helpers import validate_phase

    for step in ("analytics", "analytics_indexes"):
        params = {"reference": "postgres"} if step == "analytics" else {}
        validate_phase(step, params, RunParams(stores=("postgres",)))
        with pytest.raises(UsageError, match="orders model"):
            validate_phase(step, params, RunParams(model="telemetry", stores=("postgres",)))
