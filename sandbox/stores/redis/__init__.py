"""Redis: an order as a hash (plus an index set) under the run's key prefix."""

from __future__ import annotations

from sandbox.stores.base import Store, StoreOptions
from sandbox.stores.kind import ON_OFF, DurabilityKnobs, Knob, StoreKind
from sandbox.stores.options import StoreOption
from sandbox.stores.redis.adapter import REDIS_CLIENTS, RedisOptions, RedisStore
from sandbox.stores.redis.cache import RedisCacheRole
from sandbox.stores.redis.clock import open_clock
from sandbox.stores.redis.cluster import RedisClusterStore
from sandbox.stores.redis.markers import RedisMarkers
from sandbox.stores.redis.memory_cap import RedisMemoryCap
from sandbox.stores.redis.model_store import make as make_model_store
from sandbox.stores.redis.native import LAUNCHER
from sandbox.stores.redis.persistence import RedisPersistence
from sandbox.stores.redis.replica import REPLICATION
from sandbox.stores.redis.tls import FORMS as TLS
from sandbox.stores.replication import replica_url_setting


def _client(options: StoreOptions) -> type[Store]:
    """redis-py (the default) or valkey-glide, by RedisOptions.redis_client; both pass the same adapter tests."""
    if isinstance(options, RedisOptions) and options.redis_client == "valkey-glide":
        from sandbox.stores.redis.glide import GlideRedisStore  # imported only when chosen
        return GlideRedisStore
    return RedisStore


KIND = StoreKind(
    name="redis", adapter=RedisStore, port=16379, schemes=("redis", "rediss", "unix"), hostless_schemes=("unix",),
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
    replication=REPLICATION, client_libraries=("redis", "valkey-glide"), variant=_client,
    markers=RedisMarkers(), model_store=make_model_store,
    options=(StoreOption("client", "client library: redis-py or valkey-glide (same keys, same adapter tests)",
                         "redis-py", REDIS_CLIENTS, field="redis_client"),
             StoreOption("ttl_s", "expire order hashes after N seconds, as a cache would (off: compare stores)",
                         None, type=int, minimum=1, field="redis_ttl_s")),
    clock=open_clock,
    persistence=RedisPersistence(),
    roles={"cache": RedisCacheRole(), "memory_cap": RedisMemoryCap(), "cluster": RedisClusterStore},
)
