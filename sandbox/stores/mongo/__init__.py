"""MongoDB: a root instance as one document, children embedded (or referenced: mongo:referenced), a database per run."""

from __future__ import annotations

from collections.abc import Mapping

from sandbox.config import Backend
from sandbox.stores.contract import NoBackups
from sandbox.stores.kind import ON_OFF, DurabilityKnobs, Knob, StoreKind
from sandbox.stores.mongo.background import open_probe as open_background
from sandbox.stores.mongo.client import WRITE_CONCERNS
from sandbox.stores.mongo.markers import MongoMarkers
from sandbox.stores.mongo.model_store import MongoModelStore
from sandbox.stores.mongo.native import LAUNCHER
from sandbox.stores.mongo.replica import REPLICATION
from sandbox.stores.mongo.tls import FORMS as TLS
from sandbox.stores.replication import replica_url_setting


def default_url(backend: Backend, env: Mapping[str, str], port: int) -> str:
    if backend == "docker":
        user, pw = env.get("MONGO_ROOT_USER", "sandbox"), env.get("MONGO_ROOT_PASSWORD", "")
        return f"mongodb://{user}:{pw}@127.0.0.1:{port}/?directConnection=true&authSource=admin"
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"  # the stand-in runs without auth


KIND = StoreKind(
    background=open_background,
    name="mongo", port=27117, schemes=("mongodb", "mongodb+srv"), default_url=default_url,
    settings=(replica_url_setting(("mongodb", "mongodb+srv")),), tls=TLS,
    secrets=("MONGO_ROOT_PASSWORD",), env_values=(("MONGO_ROOT_USER", "sandbox"),),
    compose_service="mongo", native=LAUNCHER,
    durability=DurabilityKnobs(
        (Knob("sync_on_commit", False, ON_OFF),
         # the write concern is the client's: it goes to the model store's options, not the server
         Knob("write_concern", "default", {c: c for c in WRITE_CONCERNS}, client=True)),
        lambda v: f"sync-on-commit={'on' if v['sync_on_commit'] else 'off'} (SecantusDB), "
                  f"write concern {v['write_concern']}"),
    replication=REPLICATION, client_libraries=("pymongo",),
    markers=MongoMarkers(),
    model_store=MongoModelStore,
    designs={"referenced": {"children": "referenced"}},  # the default is "embedded"
    backups=NoBackups("no backup method here yet: mongodump is not installed, and a stopped-node copy of the "
                      "secantusdb stand-in's WiredTiger files is not implemented"),
    roles={"partition": "its native server listens on the address it is given (a veth end: stack/netns.py)"},
)
