"""The no-op store: no server; measures the harness itself (calibration)."""

from __future__ import annotations

from sandbox.stores.kind import StoreKind
from sandbox.stores.markers import KeepsNothing
from sandbox.stores.noop.model_store import NoopModelStore

KIND = StoreKind(name="noop", schemes=("noop",), hostless_schemes=("noop",),
                 default_url=lambda backend, env, port: "noop://", in_default_set=False,
                 markers=KeepsNothing(), model_store=NoopModelStore)
