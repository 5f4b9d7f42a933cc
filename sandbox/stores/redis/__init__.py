"""Redis: an order as a hash (plus an index set) under the run's key prefix."""

from __future__ import annotations

from sandbox.stores.base import Store, StoreOptions
from sandbox.stores.kind import ON_OFF, DurabilityKnobs, Knob, StoreKind
from sandbox.stores.redis.adapter import RedisOptions, RedisStore
from sandbox.stores.redis.markers import RedisMarkers
from sandbox.stores.redis.model_store import make as make_model_store
from sandbox.stores.redis.native import LAUNCHER
from sandbox.stores.redis.replica import REPLICATION
from sandbox.stores.replication import replica_url_setting


def _client(options: StoreOptions) -> type[Store]:
    """redis-py (the default) or valkey-glide, by RedisOptions.redis_client; both pass the same adapter tests."""
    if isinstance(options, RedisOptions) and options.redis_client == "valkey-glide":
        from sandbox.stores.redis.glide import GlideRedisStore  # imported only when chosen
        return GlideRedisStore
    return RedisStore


KIND = StoreKind(
    name="redis", adapter=RedisStore, port=16379, schemes=("redis", "rediss", "unix"), hostless_schemes=("unix",),
    default_url=lambda backend, env, port: f"redis://:{env.get('REDIS_PASSWORD', '')}@127.0.0.1:{port}/0",
    settings=(replica_url_setting(("redis", "rediss")),),
    secrets=("REDIS_PASSWORD",), compose_service="redis", native=LAUNCHER,
    durability=DurabilityKnobs(
        (Knob("appendonly", True, ON_OFF),
         Knob("appendfsync", "everysec", {v: v for v in ("always", "everysec", "no")})),
        lambda v: f"appendonly={'yes' if v['appendonly'] else 'no'}"
                  + (f", appendfsync={v['appendfsync']}" if v["appendonly"] else "")),
    replication=REPLICATION, client_libraries=("redis", "valkey-glide"), variant=_client,
    markers=RedisMarkers(), model_store=make_model_store,
)
