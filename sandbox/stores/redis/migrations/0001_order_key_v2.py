"""Key-format change with dual-read: each order hash is copied from <prefix>:order:<id> to <prefix>:order:v2:<id>;
until every writer writes the new format, readers use `read_dual` (new key first, then the old one), so no
order goes missing mid-migration. Down deletes the new keys; the old ones were never removed."""

from typing import Any

from sandbox.stores.redis.mapping import index_key
from sandbox.stores.redis.model_store import RedisModelStore


def new_key(store: RedisModelStore, order_id: str) -> str:
    return f"{store.namespace}:{store.model.root}:v2:{order_id}"


async def read_dual(store: RedisModelStore, order_id: str) -> dict[str, Any]:
    """The reader's side of the change: new format first, then the old one."""
    found: dict[str, Any] = await store.client.hgetall(new_key(store, order_id))
    return found or await store.client.hgetall(store.hash_key(store.model.root, order_id))


async def up(store: RedisModelStore) -> None:
    root = store.model.root
    layout = store.design.layouts[root]
    every = index_key(store.namespace, layout, layout.every, ())  # every order's key, by created_at
    start = 0
    while ids := await store.client.zrange(every, start, start + 999):
        async with store.client.pipeline(transaction=False) as pipe:
            for order_id in map(str, ids):
                pipe.copy(store.hash_key(root, order_id), new_key(store, order_id), replace=True)
            await pipe.execute()
        start += len(ids)


async def down(store: RedisModelStore) -> None:
    keys = [k async for k in store.client.scan_iter(match=new_key(store, "*"), count=1000)]
    for i in range(0, len(keys), 1000):
        await store.client.unlink(*keys[i:i + 1000])
