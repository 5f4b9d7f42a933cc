"""Reindex into a new index with a changed mapping (order_number also searchable as text), then swap the read
alias from the old index to the new one in one _aliases call; down deletes the new index, and its alias with it
(readers fall back to the index by name, as before).
Writes made during the reindex land in the old index only: a real cut-over pauses or dual-writes them."""

from typing import Any

from sandbox.stores.elastic.migrations import new_index, orders_index, read_alias
from sandbox.stores.elastic.model_store import SETTINGS, ElasticModelStore

TABLE = "orders"


async def up(store: ElasticModelStore) -> None:
    es = store.es
    index = orders_index(store)
    mapping: dict[str, Any] = (await es.indices.get_mapping(index=index)).body[index]["mappings"]
    properties = {**mapping["properties"],  # the design keeps order_number in _source only: now it is searched
                  "order_number": {"type": "keyword", "fields": {"text": {"type": "text"}}}}
    await es.options(ignore_status=404).indices.delete(index=new_index(store))
    await es.indices.create(index=new_index(store), mappings={"dynamic": "strict", "properties": properties},
                            settings=SETTINGS)
    await es.reindex(source={"index": orders_index(store)}, dest={"index": new_index(store)}, refresh=True)
    await es.indices.update_aliases(actions=[
        {"remove": {"index": orders_index(store), "alias": read_alias(store), "must_exist": False}},
        {"add": {"index": new_index(store), "alias": read_alias(store)}}])


async def down(store: ElasticModelStore) -> None:
    await store.es.options(ignore_status=404).indices.delete(index=new_index(store))
