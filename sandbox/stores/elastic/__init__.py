"""Elasticsearch: a root instance as one document in an index per entity and run; readers search (refresh lag)."""

from __future__ import annotations

from sandbox.config import Setting, parse_bool
from sandbox.stores.contract import NoBackups
from sandbox.stores.elastic.background import open_probe as open_background
from sandbox.stores.elastic.markers import ElasticMarkers
from sandbox.stores.elastic.model_store import ElasticModelStore
from sandbox.stores.elastic.native import LAUNCHER
from sandbox.stores.elastic.routing import RoutingProbe
from sandbox.stores.kind import DurabilityKnobs, StoreKind
from sandbox.stores.options import StoreOption
from sandbox.stores.tls import CA_FILE, HTTPS_FORMS

KIND = StoreKind(
    background=open_background,
    name="elastic", port=19200, schemes=("http", "https"),
    default_url=lambda backend, env, port: f"http://127.0.0.1:{port}",
    # Elasticsearch 9 wants "compatible-with=9" media types; OpenSearch and the osmem stand-in
    # answer 406 to them. Plain application/json works on all three, so it is the default.
    settings=(Setting("plain_json", lambda backend, env: True, parse_bool),
              Setting(CA_FILE)),  # https://: the CA file its certificate is checked against (default: the system's)
    tls=HTTPS_FORMS,
    compose_service="elasticsearch", native=LAUNCHER,
    durability=DurabilityKnobs((), lambda v: "in-memory emulator (osmem): nothing survives a restart"),
    client_libraries=("elasticsearch",),
    markers=ElasticMarkers(),
    model_store=ElasticModelStore,
    options=(StoreOption("refresh", "refresh on write: false (the index refreshes on its own), wait_for or true",
                         "false", ("false", "wait_for", "true"), field="es_refresh"),),
    backups=NoBackups("the osmem stand-in keeps its indexes in memory only: no files to copy, nothing survives "
                      "its process; its _snapshot API is not implemented here"),
    roles={"routing": RoutingProbe,
           "partition": "its native server listens on the address it is given (a veth end: stack/netns.py)"},
)
