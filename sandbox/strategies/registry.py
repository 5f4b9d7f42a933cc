"""The write strategies by name, and the stores each one cannot run without.

Kept free of heavy imports so the command line can check a run's strategies before anything starts.
"""

from __future__ import annotations

from collections.abc import Iterable

from sandbox.errors import UsageError

# name -> stores the strategy needs in the run (its source of truth)
REQUIRED_STORES: dict[str, tuple[str, ...]] = {
    "dual-write": (),
    "dual-write-concurrent": (),
    "outbox": ("postgres",),
    "event-sourcing": ("postgres",),
    "saga": ("postgres",),
}

# Strategies that promise every store converges after a fault. Dual writes promise nothing: their
# divergence is what the comparison is there to show, not a finding.
CONVERGES = frozenset({"outbox", "event-sourcing", "saga"})

DESCRIPTIONS: dict[str, str] = {
    "dual-write": "the playbook's save_order: each store in turn, no recovery",
    "dual-write-concurrent": "all stores at once per order, no recovery",
    "outbox": "order + outbox row in one PostgreSQL transaction; a relay upserts into the others",
    "event-sourcing": "append-only events in PostgreSQL; checkpointed projections build the read models",
    "saga": "reserve inventory, pay, confirm; compensation releases stock and cancels",
}


def check_strategies(names: Iterable[str], stores: Iterable[str]) -> tuple[str, ...]:
    """The names, validated: each is known and has the stores it needs in this run."""
    chosen = tuple(dict.fromkeys(names))
    in_run = set(stores)
    for name in chosen:
        if name not in REQUIRED_STORES:
            raise UsageError(f"unknown strategy {name!r}: choose from {', '.join(REQUIRED_STORES)}")
        missing = [s for s in REQUIRED_STORES[name] if s not in in_run]
        if missing:
            raise UsageError(f"strategy {name} needs {', '.join(missing)} in the run: add it to --stores "
                             f"(it keeps the source of truth there)")
    return chosen
