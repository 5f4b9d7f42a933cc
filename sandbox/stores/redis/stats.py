"""Redis's own statistics from INFO: commandstats (calls per command), memory, persistence (RDB/AOF work),
keyspace and hits. Counters are server-wide (Redis keeps no statistics per key prefix) and start from zero at
every restart (a new run_id)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.stores.server_stats import ServerStats, flatten

COUNTERS = ("total_commands_processed", "total_connections_received", "keyspace_hits", "keyspace_misses",
            "expired_keys", "evicted_keys", "total_net_input_bytes", "total_net_output_bytes",
            "total_forks", "aof_rewrites", "rdb_saves")
HEADLINE = ("total_commands_processed", "cmdstat_hset.calls", "used_memory", "rdb_changes_since_last_save",
            "aof_enabled")
GAUGES = ("rdb_changes_since_last_save", "used_memory", "used_memory_rss", "used_memory_peak",
          "mem_fragmentation_ratio", "aof_enabled", "aof_last_write_status", "rdb_last_bgsave_status",
          "aof_current_size", "connected_clients", "redis_version")


async def snapshot(client: Any) -> ServerStats:
    info = await client.info("all")
    stats = ServerStats("INFO all (commandstats, memory, persistence, keyspace)", writes_counter="cmdstat_hset.calls",
                        writes_note="HSET calls, server-wide (one per order written)",
                        headline=HEADLINE, calls_counter="commands.calls",
                        calls_scope="commands executed for every client of this server (INFO commandstats; INFO "
                                    "itself, which the sandbox's snapshots and sampler send, left out; the commands "
                                    "a Lua script runs are counted too: Redis 7.0 cannot tell them from a client's)",
                        ratios={"keyspace_hit_ratio": ("keyspace_hits", "keyspace_misses")})
    stats.counters.update({k: float(info[k]) for k in COUNTERS if isinstance(info.get(k), int | float)})
    for key, value in info.items():
        if key.startswith("cmdstat_") and isinstance(value, dict):
            flatten(key, {k: v for k, v in value.items() if k in ("calls", "usec", "failed_calls", "rejected_calls")},
                    stats.counters)
        elif key.startswith("db") and isinstance(value, dict):
            stats.gauges.update({f"keyspace.{key}.{k}": v for k, v in value.items()})
    stats.counters["commands.calls"] = sum(v for k, v in stats.counters.items()
                                           if k.startswith("cmdstat_") and k.endswith(".calls")
                                           and k != "cmdstat_info.calls")
    stats.gauges.update({k: info[k] for k in GAUGES if k in info})
    # Every restart starts the counters from zero, and gives the server a new run_id.
    stats.life = str(info.get("run_id")) if info.get("run_id") else None
    if isinstance(info.get("uptime_in_seconds"), int) and isinstance(info.get("server_time_usec"), int):
        started = info["server_time_usec"] / 1e6 - info["uptime_in_seconds"]
        stats.started = datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds")
    return stats
