"""The write strategies, listed once, and the check that a run can use the ones it names.

A strategy is one module: a Strategy subclass declaring its name, namespace tag, description, source
of truth, whether it promises convergence and the store capabilities it needs. Adding one = the
module + its class in STRATEGIES below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sandbox.errors import UsageError
from sandbox.stores.base import Capability
from sandbox.strategies.base import Strategy
from sandbox.strategies.dual_write import ConcurrentDualWrite, DualWrite
from sandbox.strategies.event_sourcing import EventSourcing
from sandbox.strategies.outbox import Outbox
from sandbox.strategies.saga import Saga

STRATEGIES: tuple[type[Strategy], ...] = (DualWrite, ConcurrentDualWrite, Outbox, EventSourcing, Saga)


def strategy_names() -> tuple[str, ...]:
    return tuple(s.name for s in STRATEGIES)


def strategy_class(name: str) -> type[Strategy]:
    for cls in STRATEGIES:
        if cls.name == name:
            return cls
    raise UsageError(f"unknown strategy {name!r}: choose from {', '.join(strategy_names())}")


def check_strategies(names: Iterable[str], stores: Mapping[str, frozenset[Capability]],
                     source: str = "none") -> tuple[str, ...]:
    """The names, validated against the run's stores (name -> capabilities) before anything connects:
    each strategy is known, its source of truth (`source`) is in the run, and every store it brings along
    offers what it needs."""
    chosen = tuple(dict.fromkeys(names))
    for name in chosen:
        cls = strategy_class(name)
        if cls.needs_source and source not in stores:
            raise UsageError(f"strategy {name} needs its source of truth in the run (source = {source!r}): set "
                             "`source` to a store of --stores whose kind plays source_of_truth")
        for store in cls.targets(stores, source):
            if lacking := sorted(cls.target_needs - stores[store]):
                raise UsageError(f"strategy {name} needs {', '.join(lacking)} on {store}, which its adapter does "
                                 f"not offer: drop {store} from --stores or choose another strategy")
    return chosen
