"""Retention policy change: autogen keeps points for 3650 days instead of forever, in 30-day shard groups.
Points older than the new duration would be dropped at the next enforcement pass (every 30 min by default)."""

from sandbox.stores.influx.model_store import InfluxModelStore


async def up(store: InfluxModelStore) -> None:
    await store.query(f'ALTER RETENTION POLICY "autogen" ON "{store.namespace}" DURATION 3650d '
                       "SHARD DURATION 30d", post=True)


async def down(store: InfluxModelStore) -> None:
    await store.query(f'ALTER RETENTION POLICY "autogen" ON "{store.namespace}" DURATION INF '
                       "SHARD DURATION 7d", post=True)
