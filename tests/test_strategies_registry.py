"""What strategies declare, and the checks that a run offers it: names, model and source of truth before any store
is connected, the stores each brings along on the run's model stores (made, never connected)."""

from __future__ import annotations

import pytest

from sandbox.errors import UsageError
from sandbox.scenario.spec import RunParams
from sandbox.stores import make_model_store
from sandbox.stores.contract import Upsert
from sandbox.strategies.registry import STRATEGIES, brought_along, check_strategies, strategy_class
from tests.helpers import model, shared_settings, validate_phase

ORDERS = model("orders")


def made(*names: str, model_name: str = "orders") -> dict[str, object]:
    """The run's model stores for these kinds, made as a run makes them (nothing connects)."""
    return {n: make_model_store(shared_settings(), n, "sbx_test_registry", model(model_name)) for n in names}


def test_names_and_tags_are_unique_and_every_strategy_describes_itself() -> None:
    names = [s.name for s in STRATEGIES]
    tags = [s.tag for s in STRATEGIES]
    assert len(set(names)) == len(names) and len(set(tags)) == len(tags)
    assert all(s.description and "\n" not in s.description for s in STRATEGIES)


def test_a_store_without_upsert_is_left_out_of_relay_fed_strategies_saying_why() -> None:
    stores = made("postgres", "redis", "influx")
    assert isinstance(stores["redis"], Upsert) and not isinstance(stores["influx"], Upsert)
    needing = [s for s in STRATEGIES if Upsert in s.target_needs]
    assert {s.name for s in needing} == {"outbox", "event-sourcing", "saga"}
    for cls in needing:
        targets, left_out = brought_along(cls, stores, "postgres")
        assert "influx" not in targets and list(left_out) == ["influx"], (cls.name, targets, left_out)
        assert "offers no Upsert" in left_out["influx"] and "\n" not in left_out["influx"]
    for cls in (s for s in STRATEGIES if not s.target_needs):  # the dual writes take every store
        assert brought_along(cls, stores, "postgres") == (("postgres", "redis", "influx"), {})


def test_only_stores_a_strategy_brings_along_need_its_capabilities() -> None:
    # The outbox commits in PostgreSQL and relays to the others; event sourcing projects into PostgreSQL too.
    stores = made("postgres", "redis")
    assert brought_along(strategy_class("outbox"), stores, "postgres") == (("redis",), {})
    assert brought_along(strategy_class("event-sourcing"), stores, "postgres") == (("postgres", "redis"), {})
    # No version field in telemetry: PostgreSQL's designs gate no upsert (its own read model is then left out).
    telemetry = made("postgres", "mongo", model_name="telemetry")
    targets, left_out = brought_along(strategy_class("event-sourcing"), telemetry, "postgres")
    assert "postgres" not in targets and "postgres" in left_out


def test_source_of_truth_model_and_names_are_checked_and_duplicates_dropped() -> None:
    with pytest.raises(UsageError, match="strategy saga needs its source of truth in the run"):
        check_strategies(["dual-write", "saga"], ["redis", "mongo"], "postgres")
    with pytest.raises(UsageError, match="unknown strategy 'two-phase-commit'"):
        check_strategies(["two-phase-commit"], ["postgres"])
    assert check_strategies(["outbox", "outbox"], ["postgres", "redis"], "postgres") == ("outbox",)
    # Event sourcing and the saga give the orders model's meaning (lifecycle events, stock, payments).
    with pytest.raises(UsageError) as err:
        check_strategies(["outbox", "event-sourcing", "saga"], ["postgres", "redis"], "postgres", "telemetry")
    assert str(err.value) == ("strategies event-sourcing, saga need the orders model (its lifecycle, stock and "
                              "payments), not 'telemetry': run them with --model orders, or choose --strategies "
                              "dual-write,dual-write-concurrent,outbox")
    assert check_strategies(["dual-write", "outbox"], ["postgres"], "postgres", "telemetry") == \
        ("dual-write", "outbox")
    assert check_strategies(["saga"], ["postgres"], "postgres", "models/orders.toml") == ("saga",)


def test_the_comparison_step_checks_its_parameters_before_anything_connects() -> None:
    run = RunParams(stores=("postgres", "redis"))
    with pytest.raises(UsageError, match="fault_store 'elastic' is not in the run"):
        validate_phase("compare_strategies", {"fault_store": "elastic"}, run)
    with pytest.raises(UsageError, match="kill_after must be a fraction"):
        validate_phase("compare_strategies", {"fault_store": "redis", "kill_after": 1.5}, run)
    with pytest.raises(UsageError, match="needs parameter 'fault_store'"):
        validate_phase("compare_strategies", {}, run)
    with pytest.raises(UsageError, match="redis cannot play source"):  # the role: a kind that declares it
        validate_phase("compare_strategies", {"fault_store": "none", "source": "redis"}, run)
    with pytest.raises(UsageError, match="needs its source of truth"):  # the outbox, with no source named
        validate_phase("compare_strategies", {"fault_store": "none"}, RunParams(stores=run.stores,
                                                                                 strategies=("outbox",)))
    with pytest.raises(UsageError, match="need the orders model"):  # all strategies, when the run names none
        validate_phase("compare_strategies", {"fault_store": "redis", "source": "postgres"},
                       RunParams(stores=run.stores, model="social"))
    validate_phase("compare_strategies", {"fault_store": "redis", "source": "postgres"}, run)
