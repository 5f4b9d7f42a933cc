"""PostgreSQL: a model as relational rows (or JSONB documents: postgres:jsonb) in a schema per run."""

from __future__ import annotations

from sandbox.stores.kind import ON_OFF, DurabilityKnobs, Knob, StoreKind
from sandbox.stores.postgres.background import open_probe as open_background
from sandbox.stores.postgres.backup import PostgresBackups
from sandbox.stores.postgres.cache_origin import PostgresOriginRole
from sandbox.stores.postgres.clock import open_clock
from sandbox.stores.postgres.designs import make_model_store
from sandbox.stores.postgres.markers import PostgresMarkers
from sandbox.stores.postgres.native import LAUNCHER
from sandbox.stores.postgres.outbox import PostgresEventSource
from sandbox.stores.postgres.partitioned import HashPartitioned
from sandbox.stores.postgres.persistence import PostgresPersistence
from sandbox.stores.postgres.replica import REPLICATION
from sandbox.stores.postgres.tls import FORMS as TLS
from sandbox.stores.replication import replica_url_setting

KIND = StoreKind(
    background=open_background,
    name="postgres", port=15432, schemes=("postgresql", "postgres"),
    default_url=lambda backend, env, port:
        f"postgresql://sandbox:{env.get('POSTGRES_PASSWORD', '')}@127.0.0.1:{port}/sandbox",
    # Native: the run logs in as `sandbox`, no superuser, allowed to create schemas in its own database only; the
    # stack's own operations (replicas, durability settings, extensions) as `sandbox_admin` (native.py, roles.py).
    admin_url=lambda backend, env, port: (
        f"postgresql://sandbox_admin:{env.get('POSTGRES_ADMIN_PASSWORD', '')}@127.0.0.1:{port}/sandbox"
        if backend == "native" else
        f"postgresql://sandbox:{env.get('POSTGRES_PASSWORD', '')}@127.0.0.1:{port}/sandbox"),
    settings=(replica_url_setting(("postgresql", "postgres")),), tls=TLS,
    secrets=("POSTGRES_PASSWORD", "POSTGRES_ADMIN_PASSWORD"), compose_service="postgres", native=LAUNCHER,
    durability=DurabilityKnobs(
        (Knob("fsync", True, ON_OFF),
         Knob("synchronous_commit", "on", {v: v for v in ("on", "off", "local", "remote_write", "remote_apply")}),
         # continuous WAL archiving into the stack's backups folder (native.py archive_options, backup.py)
         Knob("archive", False, ON_OFF),
         Knob("archive_timeout_s", 0, {str(v): v for v in (0, 1, 2, 5, 10, 30, 60)})),
        lambda v: f"fsync={'on' if v['fsync'] else 'off'}, synchronous_commit={v['synchronous_commit']}"
                  + (f", WAL archived (archive_timeout={v['archive_timeout_s']}s)" if v["archive"] else "")),
    replication=REPLICATION, client_libraries=("asyncpg",),
    markers=PostgresMarkers(),
    model_store=make_model_store, designs={"normalized": {"design": "normalized"}, "jsonb": {"design": "jsonb"},
                                           # the documents' TOAST values compressed with lz4 instead of pglz
                                           "jsonb_lz4": {"design": "jsonb", "toast_compression": "lz4"},
                                           # the root hash-partitioned by its first reference (orders: customer_id)
                                           "partitioned": {"design": "normalized", "partitions": 8}},
    clock=open_clock,
    persistence=PostgresPersistence(),
    backups=PostgresBackups(),
    roles={"cache_origin": PostgresOriginRole(), "hash_partitioning": HashPartitioned,
           "partition": "its native server listens on the address it is given (a veth end: stack/netns.py)",
           # exact decimal money and SQL: the answers the other stores' are compared with
           "analytics_reference": "exact DECIMAL sums in SQL",
           # the write strategies' source of truth (sandbox/strategies/): both designs are a TransactionalSource
           # (stores/contract.py; model_store.py): a root instance and the strategies' rows in one transaction,
           # LISTEN/NOTIFY
           "source_of_truth": "transactions + LISTEN/NOTIFY",
           # an order service's outbox, and change data capture from its WAL (events experiment)
           "event_source": PostgresEventSource()},
)
