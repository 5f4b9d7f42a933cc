"""A run's key prefix on a Redis server: claimed before anything is written, unlinked after (and only it)."""

from __future__ import annotations

from typing import Any

from sandbox.errors import UsageError

CLAIM = "meta"  # `<prefix>:meta`, set NX: two runs racing for one prefix cannot both take it


async def claim_prefix(client: Any, prefix: str) -> None:
    """Take the run's key prefix: any key under it means it is someone's; the NX marker settles a race."""
    async for _ in client.scan_iter(match=f"{prefix}:*", count=1000):
        raise UsageError(f"Redis key prefix {prefix}: already has keys; choose another run id")
    if not await client.set(f"{prefix}:{CLAIM}", "created by polyglot sandbox", nx=True):
        raise UsageError(f"Redis key prefix {prefix}: already in use; choose another run id")


async def unlink_prefix(client: Any, prefix: str) -> None:
    """Delete the keys under `prefix:` and only those; never FLUSHDB / FLUSHALL."""
    batch: list[str] = []
    async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            await client.unlink(*batch)
            batch.clear()
    if batch:
        await client.unlink(*batch)
