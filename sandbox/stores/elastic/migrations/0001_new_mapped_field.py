"""A new mapped field (channel: keyword) added to the live index: a mapping update, no reindex. Elasticsearch
cannot remove a mapped field, so down leaves it mapped and unused; only a reindex takes it away (0002's way)."""

from sandbox.stores.elastic.migrations import orders_index
from sandbox.stores.elastic.model_store import ElasticModelStore

TABLE = "orders"


async def up(store: ElasticModelStore) -> None:
    await store.es.indices.put_mapping(index=orders_index(store), properties={"channel": {"type": "keyword"}})


async def down(store: ElasticModelStore) -> None:
    """Nothing the server can do: the schema comparison after the rollback lists the field."""
