"""The write strategies, listed once, and the checks that a run can use the ones it names.

A strategy is one module: a Strategy subclass declaring its name, namespace tag, description, source
of truth, whether it promises convergence, the store capabilities it needs and the model whose meaning it
needs. Adding one = the module + its class in STRATEGIES below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sandbox.errors import UsageError
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


def model_name(model: str) -> str:
    """The model a run names (`--model orders`, or a path to orders.toml): its file's name."""
    return Path(model).stem if model.endswith(".toml") else model


def check_strategies(names: Iterable[str], stores: Iterable[str], source: str = "none",
                     model: str = "orders") -> tuple[str, ...]:
    """The names, validated against the run before anything connects: each strategy is known, the model is one
    it can give meaning to (`model`: the run's --model), and its source of truth (`source`) is in the run."""
    chosen = tuple(dict.fromkeys(names))
    stores = tuple(stores)
    classes = [strategy_class(name) for name in chosen]
    needing = [cls for cls in classes if cls.needs_model is not None and cls.needs_model != model_name(model)]
    if needing:
        fits = [s.name for s in STRATEGIES if s.needs_model is None]
        raise UsageError(f"strategies {', '.join(c.name for c in needing)} need the {needing[0].needs_model} model "
                         f"(its lifecycle, stock and payments), not {model!r}: run them with --model "
                         f"{needing[0].needs_model}, or choose --strategies {','.join(fits)}")
    for cls in classes:
        if cls.needs_source and source not in stores:
            raise UsageError(f"strategy {cls.name} needs its source of truth in the run (source = {source!r}): set "
                             "`source` to a store of --stores whose kind plays source_of_truth")
    return chosen


def brought_along(cls: type[Strategy], stores: Mapping[str, Any], source: str = "none") -> \
        tuple[tuple[str, ...], dict[str, str]]:
    """The stores a strategy brings along (its targets that offer what it needs: `target_needs`, on the run's
    model stores), and those left out with the reason."""
    kept, left_out = [], {}
    for name in cls.targets(stores, source):
        lacking = [need.__name__ for need in cls.target_needs if not isinstance(stores[name], need)]
        if lacking:
            left_out[name] = (f"its design of this model offers no {', '.join(lacking)} (a relay or projection "
                              "delivers at least once and needs a version-gated upsert)")
        else:
            kept.append(name)
    return tuple(kept), left_out
