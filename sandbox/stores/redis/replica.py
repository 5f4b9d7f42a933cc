"""Redis replicas: `replicaof` on the native backend, INFO replication for role and offsets, WAIT."""

from __future__ import annotations

import redis.asyncio as aioredis

from sandbox.stores.redis.native import REPLICA_LAUNCHER
from sandbox.stores.replication import Guarantee, Replication, ServerLag

TIMEOUT_S = 5.0


async def _info(url: str) -> dict:
    client = aioredis.from_url(url, decode_responses=True, socket_timeout=TIMEOUT_S)
    try:
        return dict(await client.info("replication"))
    finally:
        await client.aclose()


async def role(url: str) -> str:
    info = await _info(url)
    link = f", link {info['master_link_status']}" if "master_link_status" in info else ""
    return f"{info['role']} (INFO replication{link})"


async def lag(primary_url: str, replica_url: str) -> ServerLag:
    # The replica's own processed offset, not the primary's view of it (the replica acks once a second);
    # asked first, so the difference is an upper bound (the primary may move on in between), never < 0.
    replica = await _info(replica_url)
    primary = await _info(primary_url)
    if "slave_repl_offset" not in replica:
        return ServerLag(detail=f"the replica reports role {replica.get('role')}, no offset")
    if replica.get("master_link_status") != "up":
        link = replica.get("master_link_status")
        return ServerLag(detail=f"INFO replication: the replica's link to the primary is {link}")
    behind = int(primary["master_repl_offset"]) - int(replica["slave_repl_offset"])
    return ServerLag(behind,
                     detail="INFO replication: primary master_repl_offset - replica slave_repl_offset (asked first)")


async def promote(url: str) -> str:
    client = aioredis.from_url(url, decode_responses=True, socket_timeout=TIMEOUT_S)
    try:
        await client.execute_command("REPLICAOF", "NO", "ONE")
    finally:
        await client.aclose()
    return "REPLICAOF NO ONE: the replica now takes writes"


WAIT_MS = 1000
REPLICATION = Replication(
    port=16479, role=role, lag=lag, promote=promote,
    guarantees=(Guarantee("async", {}, {}, "acknowledged by the primary alone"),
                Guarantee(f"WAIT 1 {WAIT_MS}", {"redis_wait_replicas": 1, "redis_wait_ms": WAIT_MS}, {},
                          f"WAIT 1 {WAIT_MS} after each write (on the writer's connection)")),
    native=REPLICA_LAUNCHER, compose_service="redis-replica", needs="REPLICAOF NO ONE, Redis @admin",
)
