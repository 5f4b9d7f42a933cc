"""A store kind: everything the sandbox knows about one store, declared in the store's own folder.

Configuration (URL, schemes, settings, secrets, port) is the StoreConfig part; this adds the model store
(stores/contract.py: the store's adapter for any domain model, and its built-in design variants), how to run
the server (compose service, native launcher), its durability knobs, its own options, the roles it can play,
the client libraries to name in results and its namespace markers (for `sandbox gc`). Adding a store = one
folder with a KIND.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.config import Endpoint, StoreConfig
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
    client: bool = False  # a client setting: goes to the model store's option `<store>_<name>`, not the server


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
        """Client knobs as model store options: mongo.write_concern -> mongo_write_concern."""
        client = {k.name for k in kind.durability.knobs if k.client}
        return {f"{kind.name}_{name}": v for name, v in self.values(kind).items() if name in client}


@dataclass(frozen=True, kw_only=True)
class StoreKind(StoreConfig):
    compose_service: str | None = None  # the service in compose/docker-compose.yml; None: no server
    native: NativeLauncher | None = None  # how the native backend runs it; None: no server
    durability: DurabilityKnobs = DurabilityKnobs()
    client_libraries: tuple[str, ...] = ()  # PyPI names whose versions the results record
    replication: Replication | None = None  # read replicas (stores/replication.py); None: none anywhere
    # How its namespaces carry a run's marker (stores/markers.py; <name>/markers.py). None: `sandbox gc`
    # cannot find its leftovers, and both gc and a run's prepare say so (markers.no_markers).
    markers: Markers | None = None
    # Its own options, set as -o <name>.<option>=<value> (stores/options.py); each is a model store option.
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

    def option(self, name: str) -> StoreOption | None:
        return next((o for o in self.options if o.name == name), None)
