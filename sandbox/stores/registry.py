"""The store kinds of a run: the built-in ones plus plugins named in configuration.

Built explicitly (StoreRegistry.load) and passed along; there is no global list to mutate. A plugin
is any importable `module:attribute` holding a StoreKind, named in SANDBOX_STORE_PLUGINS or the
config file's `store_plugins`, so a store can be added without editing this package.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.config import (
    Backend,
    Settings,
    Workspace,
    import_plugin,
    load_settings,
    parse_stores,
    plugin_refs,
    read_config_file,
)
from sandbox.errors import UsageError
from sandbox.secure import tls_files
from sandbox.stores.kind import StoreKind

# Adding a store: one line here. nats and rabbitmq are brokers (the events experiment), kinds like the stores so
# that the stack starts, stops, kills and reports them as it does the stores; outside the default set of a run.
BUILT_IN = ("postgres", "mongo", "redis", "elastic", "influx", "noop", "nats", "rabbitmq")


@dataclass(frozen=True)
class StoreRegistry:
    kinds: Mapping[str, StoreKind]

    @classmethod
    def built_in(cls) -> StoreRegistry:
        return cls.of(importlib.import_module(f"sandbox.stores.{name}").KIND for name in BUILT_IN)

    @classmethod
    def of(cls, kinds: Iterable[StoreKind]) -> StoreRegistry:
        return cls({k.name: k for k in kinds})

    @classmethod
    def load(cls, environ: Mapping[str, str], config_file: Path | None = None) -> StoreRegistry:
        """The built-in kinds plus the plugins the config file and SANDBOX_STORE_PLUGINS name."""
        return cls.built_in().with_plugins(plugin_refs(environ, read_config_file(config_file)))

    def with_plugins(self, refs: Iterable[str]) -> StoreRegistry:
        kinds = dict(self.kinds)
        for ref in refs:
            kind = _import_kind(ref)
            if kind.name in kinds:
                raise UsageError(f"store plugin {ref}: a store named {kind.name!r} exists already; rename it")
            kinds[kind.name] = kind
        return StoreRegistry(kinds)

    @property
    def names(self) -> tuple[str, ...]:
        """The default set: every store with a server, built-in or plugin (noop is chosen by name)."""
        return tuple(n for n, k in self.kinds.items() if k.in_default_set)

    @property
    def started(self) -> tuple[str, ...]:
        """What `sandbox up` starts without --stores: the default set and the brokers beside it."""
        return tuple(n for n, k in self.kinds.items()
                     if (k.in_default_set if k.started_by_default is None else k.started_by_default))

    def kind(self, name: str) -> StoreKind:
        """The kind of a store in a run: "mongo", or a design of it, "mongo:referenced"."""
        try:
            return self.kinds[name.partition(":")[0]]
        except KeyError:
            raise UsageError(f"unknown store {name}: choose from {','.join(self.kinds)}") from None

    def parse(self, text: str | None) -> list[str]:
        """`postgres,mongo:referenced` -> ['postgres', 'mongo:referenced'], rejecting names no kind has (a design's
        name is checked against the model when the run builds its stores); None (no --stores) -> all."""
        return list(self.names) if text is None else parse_stores(text, self.kinds)

    def check_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Store options (`redis.client` -> value), each checked by the kind that declares it; one line if not."""
        out = {}
        for key, value in given.items():
            store, _, name = key.partition(".")
            kind = self.kind(store)
            option = kind.option(name)
            if option is None:
                has = ", ".join(o.name for o in kind.options) or "none"
                raise UsageError(f"-o {key}: {store} has no option {name!r} (its options: {has}; `sandbox options`)")
            try:
                out[key] = option.parse(value)
            except ValueError as exc:
                raise UsageError(f"-o {key}={value}: expected {exc}") from None
        return out

    def settings(self, backend: Backend, ws: Workspace, config_file: Path | None = None,
                 environ: Mapping[str, str] | None = None, insecure: bool = False) -> Settings:
        """Every store's settings; the default URLs of a native stack that runs with TLS ask for it, verified
        against its CA, where the store's server speaks it; `insecure` (--insecure): no certificate is checked."""
        return load_settings(backend, ws, self.kinds, config_file, environ, self.tls_stores(backend, ws), insecure)

    def tls_stores(self, backend: Backend, ws: Workspace) -> dict[str, str]:
        """The stores whose own servers speak TLS now, with the CA file that signed their certificates."""
        files = tls_files(ws.state_dir) if backend == "native" else None
        if files is None:
            return {}
        return {n: str(files.ca) for n, k in self.kinds.items() if k.native is not None and k.native.serves_tls}


def registry_of(settings: Settings) -> StoreRegistry:
    """The registry the settings were loaded for (settings carry their kinds)."""
    kinds = {n: k for n, k in settings.kinds.items() if isinstance(k, StoreKind)}
    return StoreRegistry(kinds)


def _import_kind(ref: str) -> StoreKind:
    return import_plugin(ref, "store", StoreKind, "mypkg.clickhouse:KIND")
