"""Where orders are written: one adapter module per store behind sandbox.stores.base.Store."""

from __future__ import annotations

from sandbox.config import Endpoint
from sandbox.stores.base import Store, StoreOptions
from sandbox.stores.elastic.adapter import ElasticStore
from sandbox.stores.influx.adapter import InfluxStore
from sandbox.stores.mongo.adapter import MongoStore
from sandbox.stores.noop.adapter import NoopStore
from sandbox.stores.postgres.adapter import PostgresStore
from sandbox.stores.redis.adapter import RedisStore

ADAPTERS: dict[str, type[Store]] = {cls.name: cls for cls in
                                    (PostgresStore, MongoStore, RedisStore, ElasticStore, InfluxStore, NoopStore)}


def make_store(name: str, endpoint: Endpoint, namespace: str, options: StoreOptions | None = None) -> Store:
    return ADAPTERS[name](endpoint, namespace, options)
