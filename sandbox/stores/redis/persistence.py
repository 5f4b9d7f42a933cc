"""What Redis says about its persistence right before it is killed: INFO persistence (an AOF fsync still running
in the background, writes postponed because of it, the last write's status). Declared on the KIND as
`persistence`; the probe uses a client of its own."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

REDIS_FIELDS = ("aof_enabled", "aof_delayed_fsync", "aof_pending_bio_fsync", "aof_buffer_length",
                "aof_last_write_status", "aof_rewrite_in_progress", "aof_last_bgrewrite_status",
                "rdb_changes_since_last_save", "rdb_last_bgsave_status")
PROBE_TIMEOUT_S = 2.0
POLL_S = 0.002


class RedisPersistence:
    async def state(self, url: str) -> dict[str, Any]:
        client = aioredis.from_url(url, decode_responses=True, socket_timeout=PROBE_TIMEOUT_S)
        try:
            info = await client.info("persistence")
        finally:
            await client.aclose()
        return {name: info[name] for name in REDIS_FIELDS if name in info}

    async def window(self, url: str, timeout_s: float, then: Callable[[], object], busy_disk: bool
                     ) -> dict[str, Any] | None:
        """Only with a busy disk, and an AOF: a background fsync still running (aof_pending_bio_fsync=1), during
        which appendfsync everysec postpones its AOF write while it goes on replying."""
        if not busy_disk:
            return None
        client = aioredis.from_url(url, decode_responses=True, socket_timeout=PROBE_TIMEOUT_S)
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                info = await client.info("persistence")
                if str(info.get("aof_enabled")) != "1":
                    return None  # no AOF: nothing is postponed, every write is at risk anyway
                if str(info.get("aof_pending_bio_fsync")) == "1":
                    then()
                    return {**{k: info[k] for k in REDIS_FIELDS if k in info}, "window_seen": True}
                await asyncio.sleep(POLL_S)
            return None
        finally:
            await client.aclose()

    def brief(self, state: dict[str, Any]) -> str:
        parts = ["killed as an AOF fsync was in flight"] if state.get("window_seen") else []
        if str(state.get("aof_enabled")) == "1":
            parts += [f"aof_pending_bio_fsync={state.get('aof_pending_bio_fsync')}",
                      f"aof_delayed_fsync={state.get('aof_delayed_fsync')}",
                      f"aof_buffer_length={state.get('aof_buffer_length')}",
                      f"last write {state.get('aof_last_write_status')}"]
        else:
            parts.append(f"no AOF; changes since last RDB save {state.get('rdb_changes_since_last_save')}")
        return ", ".join(parts)
