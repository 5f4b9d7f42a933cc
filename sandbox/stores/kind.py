"""A store kind: everything the sandbox knows about one store, declared in the store's own folder.

Configuration (URL, schemes, settings, secrets, port) is the StoreConfig part; this adds the adapter
(its typed `Options`, its `capabilities`, `server_settings()` to ask the server for its durability
settings), how to run the server (compose service, native launcher), its durability knobs, the
client libraries to name in results and its namespace markers (for `sandbox gc`). Adding a store =
one folder with a KIND.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from sandbox.config import Endpoint, StoreConfig
from sandbox.stores.base import Capability, Store, StoreOptions
from sandbox.stores.launch import NativeLauncher
from sandbox.stores.markers import Markers
from sandbox.stores.options import StoreOption
from sandbox.stores.replication import Replication

ON_OFF = {"on": True, "off": False, "yes": True, "no": False, "true": True, "false": False}


@dataclass(frozen=True)
class Knob:
    """One durability setting, named `<store>.<name>` in a durability profile."""

    name: str
    default: Any
    choices: Mapping[str, Any]  # what a profile may say -> the value
    client: bool = False  # a client setting: goes to the adapter's option `<store>_<name>`, not the server


@dataclass(frozen=True)
class DurabilityKnobs:
    knobs: tuple[Knob, ...] = ()
    describe: Callable[[Mapping[str, Any]], str] = lambda values: ""  # knob values -> one line for reports

    def defaults(self) -> dict[str, Any]:
        return {k.name: k.default for k in self.knobs}


@dataclass(frozen=True)
class Durability:
    """Durability settings that differ from the kinds' defaults: {"redis.appendonly": False, ...}."""

    changes: Mapping[str, Any] = field(default_factory=dict)

    def values(self, kind: StoreKind) -> dict[str, Any]:
        """Every knob of a kind, changed or default."""
        return {k.name: self.changes.get(f"{kind.name}.{k.name}", k.default) for k in kind.durability.knobs}

    def server(self, kind: StoreKind) -> dict[str, Any]:
        """The knobs the server is started with (client knobs left out)."""
        client = {k.name for k in kind.durability.knobs if k.client}
        return {name: v for name, v in self.values(kind).items() if name not in client}

    def client_options(self, kind: StoreKind) -> dict[str, Any]:
        """Client knobs as adapter options: mongo.write_concern -> mongo_write_concern."""
        client = {k.name for k in kind.durability.knobs if k.client}
        return {f"{kind.name}_{name}": v for name, v in self.values(kind).items() if name in client}


@dataclass(frozen=True, kw_only=True)
class StoreKind(StoreConfig):
    adapter: type[Store] | None = None  # the hand-written order adapter (going: model_store replaces it)
    compose_service: str | None = None  # the service in compose/docker-compose.yml; None: no server
    native: NativeLauncher | None = None  # how the native backend runs it; None: no server
    durability: DurabilityKnobs = DurabilityKnobs()
    client_libraries: tuple[str, ...] = ()  # PyPI names whose versions the results record
    # Where one store has more than one client library: the adapter class for these options.
    variant: Callable[[StoreOptions], type[Store]] | None = None
    replication: Replication | None = None  # read replicas (stores/replication.py); None: none anywhere
    # How its namespaces carry a run's marker (stores/markers.py; <name>/markers.py). None: `sandbox gc`
    # cannot find its leftovers, and both gc and a run's prepare say so (markers.no_markers).
    markers: Markers | None = None
    # Its own options, set as -o <name>.<option>=<value> (stores/options.py); each sets a field of its Options.
    options: tuple[StoreOption, ...] = ()
    # The parts an experiment may ask of a store playing one of its roles, by role name: e.g. "cache" (a
    # cache-aside cache), "cache_origin", "memory_cap". A store that declares none cannot play the role.
    roles: Mapping[str, Any] = field(default_factory=dict)
    # What the server says about its persistence right before a kill (stores/<name>/persistence.py).
    persistence: Any = None
    # The server's own clock, for the workers' skew check: async (url) -> (now, close) (stores/<name>/clock.py).
    clock: Callable[[str], Awaitable[Any]] | None = None
    # The adapter of a domain model (stores/contract.py ModelStore): model_store(endpoint, namespace, model,
    # options) with options = the run's mapping options (a variant's) and client options. None: no model.
    model_store: Callable[..., Any] | None = None
    # What the server does in the background (vacuum, checkpoints, AOF rewrites, merges, compactions): a probe
    # on a connection of its own, async (endpoint) -> BackgroundProbe (stores/background.py, <name>/background.py).
    background: Callable[[Endpoint], Awaitable[Any]] | None = None
    designs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # built-in variants: name -> options

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.adapter.capabilities if self.adapter is not None else frozenset()

    def option(self, name: str) -> StoreOption | None:
        return next((o for o in self.options if o.name == name), None)

    def options_for(self, connections: int, chosen: Mapping[str, Any] | None = None, **extra: Any) -> StoreOptions:
        """This kind's options: its declared options as chosen for the run (`<name>.<option>` -> value, else
        their defaults) and `extra` fields (durability client knobs), keeping those its options type has."""
        chosen = chosen or {}
        values = {o.target: chosen.get(f"{self.name}.{o.name}", o.default) for o in self.options}
        names = {f.name for f in fields(self.adapter.Options)}
        return self.adapter.Options(connections=connections, **{k: v for k, v in {**values, **extra}.items()
                                                                 if k in names and v is not None})

    def make(self, endpoint: Endpoint, namespace: str, options: StoreOptions | None = None) -> Store:
        adapter = self.variant(options) if self.variant is not None and options is not None else self.adapter
        return adapter(endpoint, namespace, options)
