"""InfluxDB: a root instance as one point (its tags and fields as mapping.py derives them) in a database per run."""

from __future__ import annotations

from sandbox.config import Setting
from sandbox.stores.influx.background import open_probe as open_background
from sandbox.stores.influx.backup import InfluxBackups
from sandbox.stores.influx.markers import InfluxMarkers
from sandbox.stores.influx.model_store import make as make_model_store
from sandbox.stores.influx.native import LAUNCHER
from sandbox.stores.kind import DurabilityKnobs, StoreKind
from sandbox.stores.tls import CA_FILE, HTTPS_FORMS

KIND = StoreKind(
    background=open_background,
    name="influx", port=18086, schemes=("http", "https"),
    default_url=lambda backend, env, port: f"http://127.0.0.1:{port}",
    # InfluxDB 2 (compose) needs a token and an org; the native 1.x runs with auth off.
    settings=(Setting("token", lambda backend, env: env.get("INFLUX_ADMIN_TOKEN") if backend == "docker" else None,
                      secret=True),
              Setting("org", lambda backend, env: env.get("INFLUX_ORG", "sandbox") if backend == "docker" else None),
              Setting(CA_FILE)),  # https://: the CA file its certificate is checked against (default: the system's)
    tls=HTTPS_FORMS,
    secrets=("INFLUX_ADMIN_PASSWORD", "INFLUX_ADMIN_TOKEN"),
    env_values=(("INFLUX_ORG", "sandbox"), ("INFLUX_BUCKET", "sandbox"), ("INFLUX_ADMIN_USER", "sandbox")),
    compose_service="influxdb", native=LAUNCHER,
    durability=DurabilityKnobs((), lambda v: "WAL on (InfluxDB 1.x default, wal-fsync-delay=0s)"),
    client_libraries=("influxdb-client", "aiohttp"),
    markers=InfluxMarkers(), model_store=make_model_store, backups=InfluxBackups(),
    roles={"partition": "its native server listens on the address it is given (a veth end: stack/netns.py)"},
)
