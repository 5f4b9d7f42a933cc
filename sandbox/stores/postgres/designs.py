"""PostgreSQL's designs of a model: the StoreKind's factory picks one by its `design` option."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.config import Endpoint
from sandbox.errors import UsageError
from sandbox.stores.postgres.jsonb import JsonbStore, JsonbUpsertStore
from sandbox.stores.postgres.model_store import DESIGNS, NormalizedStore, NormalizedUpsertStore
from sandbox.workload.schema import Model


def make_model_store(endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]) -> Any:
    """The StoreKind's factory: options["design"] picks the design (normalized by default)."""
    design = options.get("design", "normalized")
    if design not in DESIGNS:
        raise UsageError(f"postgres: unknown design {design!r}; choose from {', '.join(DESIGNS)}")
    versioned = model.root_entity.version_field is not None
    if design == "jsonb":
        return (JsonbUpsertStore if versioned else JsonbStore)(endpoint, namespace, model, options)
    return (NormalizedUpsertStore if versioned else NormalizedStore)(endpoint, namespace, model, options)
