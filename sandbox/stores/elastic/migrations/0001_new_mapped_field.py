"""A new mapped field (channel: keyword) added to the live index: a mapping update, no reindex. Elasticsearch
cannot remove a mapped field, so down leaves it mapped and unused; only a reindex takes it away (0002's way)."""

from sandbox.stores.elastic.adapter import ElasticStore

TABLE = "orders"


async def up(store: ElasticStore) -> None:
    await store.es.indices.put_mapping(index=store.index, properties={"channel": {"type": "keyword"}})


async def down(store: ElasticStore) -> None:
    """Nothing the server can do: the schema comparison after the rollback lists the field."""
