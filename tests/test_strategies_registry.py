"""What strategies declare, and the check that a run offers it, before any store is connected."""

from __future__ import annotations

import pytest

from sandbox.errors import UsageError
from sandbox.scenario.spec import RunParams
from sandbox.stores.base import Capability
from sandbox.stores.noop import NoopStore
from sandbox.stores.registry import StoreRegistry
from sandbox.strategies.registry import STRATEGIES, check_strategies
from tests.helpers import validate_phase

KINDS = StoreRegistry.built_in()


def store_capabilities(stores: list[str]) -> dict[str, frozenset[Capability]]:
    return {s: KINDS.kind(s).capabilities for s in stores}


class PlainStore(NoopStore):
    """A store kind that writes but offers no idempotent upsert."""

    name = "plain"
    capabilities = frozenset({Capability.BATCH_WRITE})


def run_of(**stores: type) -> dict[str, frozenset[Capability]]:
    return {name: cls.capabilities for name, cls in stores.items()}


def test_names_and_tags_are_unique_and_every_strategy_describes_itself() -> None:
    names = [s.name for s in STRATEGIES]
    tags = [s.tag for s in STRATEGIES]
    assert len(set(names)) == len(names) and len(set(tags)) == len(tags)
    assert all(s.description and "\n" not in s.description for s in STRATEGIES)


def test_a_strategy_needing_upsert_on_a_store_without_it_is_refused_naming_both() -> None:
    stores = run_of(postgres=KINDS.kind("postgres").adapter, plain=PlainStore)
    needing = [s.name for s in STRATEGIES if Capability.UPSERT in s.target_needs]
    assert needing, "no strategy declares that it needs upsert"
    for name in needing:
        with pytest.raises(UsageError) as err:
            check_strategies([name], stores, "postgres")
        assert str(err.value).startswith(f"strategy {name} needs upsert on plain,"), err.value
        assert "\n" not in str(err.value)
    plain_writers = [s.name for s in STRATEGIES if not s.target_needs]
    assert check_strategies(plain_writers, stores) == tuple(plain_writers)


def test_only_stores_a_strategy_brings_along_need_its_capabilities() -> None:
    # The outbox commits in PostgreSQL and relays to the others; event sourcing projects into PostgreSQL too.
    stores = {"postgres": frozenset[Capability](), **run_of(redis=KINDS.kind("redis").adapter)}
    assert check_strategies(["outbox", "saga"], stores, "postgres") == ("outbox", "saga")
    with pytest.raises(UsageError, match="strategy event-sourcing needs upsert on postgres"):
        check_strategies(["event-sourcing"], stores, "postgres")


def test_source_of_truth_and_names_are_checked_and_duplicates_dropped() -> None:
    with pytest.raises(UsageError, match="strategy saga needs its source of truth in the run"):
        check_strategies(["dual-write", "saga"], store_capabilities(["redis", "mongo"]), "postgres")
    with pytest.raises(UsageError, match="unknown strategy 'two-phase-commit'"):
        check_strategies(["two-phase-commit"], store_capabilities(["postgres"]))
    assert check_strategies(["outbox", "outbox"], store_capabilities(["postgres", "redis"]), "postgres") == ("outbox",)


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
    validate_phase("compare_strategies", {"fault_store": "redis", "source": "postgres"}, run)
