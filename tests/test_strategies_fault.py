"""Outbox against dual write with a real store outage: Redis SIGKILLed mid-run and restarted.

These tests kill a server, so they run a native stack of their own (see helpers.private_stack) and never
touch the shared one.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from sandbox.experiments.strategies.steps import StrategyRun, run_strategy
from sandbox.experiments.strategies.table import print_strategies
from sandbox.report.console import console
from sandbox.stack.faults import FaultInjector
from sandbox.stack.native import NativeStack
from sandbox.strategies.base import StrategyOptions
from tests.helpers import connect, drop, orders, private_stack

STORES = ["postgres", "redis", "elastic", "influx"]  # fast to start; Redis is the one killed
pytestmark = pytest.mark.stores(*STORES)  # started on a stack of its own
ORDERS = 150
DATA = orders(11, ORDERS)


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[NativeStack, object]]:
    with private_stack(STORES) as pair:
        yield pair


def faulted_run(stack: NativeStack, settings, keep: bool = False) -> StrategyRun:  # type: ignore[no-untyped-def]
    return StrategyRun(settings, tuple(STORES), f"sbx_t{secrets.token_hex(3)}", DATA,
                       StrategyOptions(seed=11, concurrency=6, source="postgres"), keep=keep,
                       injector=FaultInjector(stack), fault_store="redis",
                       kill_after=0.25, down_s=1.0, settle_timeout_s=60)


async def test_outbox_converges_to_zero_divergence_after_a_store_outage(stack) -> None:  # type: ignore[no-untyped-def]
    native, settings = stack
    outcome = await run_strategy("outbox", faulted_run(native, settings))

    assert len(outcome.fault["done"]) == 2 and outcome.fault["error"] is None, outcome.fault  # killed, started
    redis_upserts = outcome.store_ops["redis"]["upsert"]
    assert redis_upserts["failed"] + redis_upserts["unknown"] > 0, "the relay never met the outage"
    assert outcome.acked == ORDERS  # PostgreSQL stayed up: every order was acknowledged
    after = outcome.after_recovery
    assert after is not None and after.divergent == [] and after.lost_acked == [] and after.duplicates == 0, \
        after.per_store if after else None
    assert outcome.settled and outcome.converge_s is not None
    assert outcome.lag["redis"].get_total_count() == ORDERS
    # InfluxDB's design appends points and gates nothing by version: the relay cannot feed it, and says so.
    assert list(outcome.left_out) == ["influx"] and "Upsert" in outcome.left_out["influx"]
    assert outcome.stores == ["postgres", "redis", "elastic"]


async def test_dual_write_stays_divergent_and_the_report_names_the_ids(stack) -> None:  # type: ignore[no-untyped-def]
    native, settings = stack
    run = faulted_run(native, settings, keep=True)
    outcome = await run_strategy("dual-write", run)
    kept = await connect(settings, STORES, outcome.namespace, DATA)
    try:
        after = outcome.after_recovery
        assert after is not None and after.divergent, "a store was down for a second and nothing diverged?"
        assert outcome.failed > 0 and outcome.converge_s is None
        # Every named order really is split: PostgreSQL (written first) has it, Redis does not.
        for order_id in after.divergent:
            assert await kept["postgres"].store.read("order", order_id) is not None
            assert await kept["redis"].store.read("order", order_id) is None
        with console.capture() as captured:
            print_strategies([outcome])
        assert after.divergent[0] in captured.get()
        assert outcome.to_json()["divergence_after_recovery"]["divergent_ids"] == after.divergent
    finally:
        await drop(kept)
