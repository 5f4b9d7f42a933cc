"""Redis: a root instance as a hash (plus index keys, written by one Lua script) under the run's key prefix."""

from __future__ import annotations

from sandbox.stores.kind import ON_OFF, DurabilityKnobs, Knob, StoreKind
from sandbox.stores.options import StoreOption
from sandbox.stores.redis.background import open_probe as open_background
from sandbox.stores.redis.backup import RedisBackups
from sandbox.stores.redis.cache import RedisCacheRole
from sandbox.stores.redis.clock import open_clock
from sandbox.stores.redis.cluster import make as make_cluster_store
from sandbox.stores.redis.markers import RedisMarkers
from sandbox.stores.redis.memory_cap import RedisMemoryCap
from sandbox.stores.redis.model_store import CLIENTS
from sandbox.stores.redis.model_store import make as make_model_store
from sandbox.stores.redis.native import LAUNCHER
from sandbox.stores.redis.persistence import RedisPersistence
from sandbox.stores.redis.replica import REPLICATION
from sandbox.stores.redis.services import RedisInventory, RedisReadModel
from sandbox.stores.redis.streams import make_broker
from sandbox.stores.redis.tls import FORMS as TLS
from sandbox.stores.replication import replica_url_setting

KIND = StoreKind(
    background=open_background,
    name="redis", port=16379, schemes=("redis", "rediss", "unix"), hostless_schemes=("unix",),
    # Native: the run logs in as the ACL user `sandbox` (keys sbx_* only, no admin commands: native.py); the
    # stack's own operations (memory caps, replicas) as `default` with the admin password.
    default_url=lambda backend, env, port:
        f"redis://{'sandbox' if backend == 'native' else ''}:{env.get('REDIS_PASSWORD', '')}@127.0.0.1:{port}/0",
    admin_url=lambda backend, env, port: (
        f"redis://default:{env.get('REDIS_ADMIN_PASSWORD', '')}@127.0.0.1:{port}/0" if backend == "native"
        else f"redis://:{env.get('REDIS_PASSWORD', '')}@127.0.0.1:{port}/0"),
    settings=(replica_url_setting(("redis", "rediss")),), tls=TLS,
    secrets=("REDIS_PASSWORD", "REDIS_ADMIN_PASSWORD"), compose_service="redis", native=LAUNCHER,
    durability=DurabilityKnobs(
        (Knob("appendonly", True, ON_OFF),
         Knob("appendfsync", "everysec", {v: v for v in ("always", "everysec", "no")})),
        lambda v: f"appendonly={'yes' if v['appendonly'] else 'no'}"
                  + (f", appendfsync={v['appendfsync']}" if v["appendonly"] else "")),
    replication=REPLICATION, client_libraries=("redis", "valkey-glide"),
    markers=RedisMarkers(), model_store=make_model_store,
    options=(StoreOption("client", "client library: redis-py or valkey-glide (same keys, scripts and batches)",
                         "redis-py", CLIENTS, field="redis_client"),),
    clock=open_clock,
    persistence=RedisPersistence(),
    backups=RedisBackups(),
    roles={"cache": RedisCacheRole(), "memory_cap": RedisMemoryCap(), "cluster": make_cluster_store,
           "partition": "its native server listens on the address it is given (a veth end: stack/netns.py)",
           # event-driven services (stores/events.py): Redis Streams as the broker, an inventory, a read model
           "broker": make_broker, "inventory": RedisInventory, "read_model": RedisReadModel},
)
