"""Redis's footprint of a run's key prefix: the keys under `{ns}:` counted by kind (SCAN), MEMORY USAGE on a
sample of each kind scaled by its count (entity hashes = data; each index structure family — sets, sorted
sets, counter hashes, their `where` values stripped — by name), beside the server-wide `used_memory` and the AOF
size (`aof_current_size`, when AOF is on) that the experiment differences between readings."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sandbox.stores.contract import FootprintReading

SOURCE = "MEMORY USAGE on a sample per key kind x count (SCAN of the prefix), INFO memory used_memory, AOF size"
SAMPLE = 200  # keys measured per kind: MEMORY USAGE is O(fields) on a hash; the mean is scaled by the count
VALUE = re.compile(r"=[^:]*")  # `:status=paid` -> `:status`: one name per structure family


def family(key: str, prefix: str, entities: Iterable[str]) -> str | None:
    """None: an entity's hash (data); else the structure family's name (e.g. `orders:status:by:created_at`)."""
    rest = key[len(prefix) + 1:]
    for entity in entities:
        if rest.startswith(f"{entity}:") and ":" not in rest[len(entity) + 1:]:
            return None
    return VALUE.sub("", rest)


async def footprint(client: Any, prefix: str, entities: Iterable[str]) -> FootprintReading:
    names = tuple(entities)
    groups: dict[str | None, list[str]] = {}
    async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        groups.setdefault(family(key, prefix, names), []).append(key)
    sizes: dict[str | None, int] = {}
    for name, keys in groups.items():
        sample = keys[:: max(1, len(keys) // SAMPLE)][:SAMPLE]
        async with client.pipeline(transaction=False) as pipe:
            for key in sample:
                pipe.memory_usage(key, samples=0)  # samples=0: every field counted, not an estimate from 5
            used = [int(u or 0) for u in await pipe.execute()]
        sizes[name] = round(sum(used) / len(used) * len(keys)) if used else 0
    memory, persistence = await client.info("memory"), await client.info("persistence")
    aof = int(persistence.get("aof_current_size", 0)) if persistence.get("aof_enabled") else None
    why = () if aof is not None else ("log: AOF is off on this server (appendonly no)",)
    return FootprintReading(SOURCE, sizes.pop(None, 0), {str(k): v for k, v in sizes.items()}, aof,
                            memory_bytes=int(memory["used_memory"]), held_in="memory",
                            detail={f"keys.{k or 'entity hashes'}": len(v) for k, v in groups.items()},
                            unavailable=why)
