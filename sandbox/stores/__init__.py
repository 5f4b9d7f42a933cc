"""Where a model is written: one folder per store (its KIND and model store), behind stores/contract.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.config import Settings, endpoint
from sandbox.stores.registry import registry_of

# The smallest model: what a store needs to be built when only its connection is used (status, gc).
CONNECTION_MODEL = """
[entity.probe]
role = "root"
[entity.probe.fields]
id = { type = "id", gen = "uuid" }
at = { type = "timestamp", gen = "spaced" }
[entity.probe.stream]
time = "at"
"""


def connection_store(settings: Settings, name: str, namespace: str) -> Any:
    """A model store used for its connection only (a probe, gc): it is never prepared, so it creates nothing."""
    from pathlib import Path

    from sandbox.workload.model_file import loads

    return make_model_store(settings, name, namespace, loads(CONNECTION_MODEL, Path("<connection model>")), 2)


def split_variant(name: str) -> tuple[str, str | None]:
    """"mongo:referenced" -> ("mongo", "referenced"); "postgres" -> ("postgres", None)."""
    kind, _, variant = name.partition(":")
    return kind, variant or None


def make_model_store(settings: Settings, name: str, namespace: str, model: Any, connections: int = 8,
                     chosen: Mapping[str, Any] | None = None, **options: Any) -> Any:
    """A model store (stores/contract.py) for "kind" or "kind:variant"; a variant is the kind's own design or
    one the model file declares ([variant.NAME] store = kind). `chosen`: the run's store options
    (`redis.client` -> value; each kind takes its own, defaults otherwise), `options`: settings passed
    directly (durability client knobs, a design's options in tests)."""
    from sandbox.errors import UsageError

    kind_name, variant = split_variant(name)
    kind = registry_of(settings).kind(kind_name)
    if kind.model_store is None:
        raise UsageError(f"{kind_name} holds no domain model yet")
    design: dict[str, Any] = {}
    if variant is not None:
        declared = model.variants.get(variant)
        if variant in kind.designs:
            design = dict(kind.designs[variant])
        elif declared is not None and declared.store == kind_name:
            design = dict(declared.options)
        else:
            known = sorted([*kind.designs, *(v for v, d in model.variants.items() if d.store == kind_name)])
            raise UsageError(f"{name}: {kind_name} has no design {variant!r}; choose from "
                             f"{', '.join(known) or 'none (use ' + kind_name + ')'}")
    declared = {o.target: (chosen or {}).get(f"{kind_name}.{o.name}", o.default) for o in kind.options}
    made_with = {"connections": connections, **declared, **design, **options}
    store = kind.model_store(endpoint(settings, kind_name), namespace, model, made_with)
    store.name = name
    store.made_with = made_with  # a worker process builds the same store again (measure/processes.py)
    return store
