"""MongoDB replica-set members (compose/replicas.yml or a URL; the native stand-in has no replication):
role from `hello`, lag from replSetGetStatus optimes, promotion by `replSetStepUp` on the secondary."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from sandbox.stores.replication import Guarantee, Replication, ServerLag

TIMEOUT_MS = 5000


async def _admin(url: str, command: str) -> dict[str, Any]:
    client: AsyncMongoClient = AsyncMongoClient(url, serverSelectionTimeoutMS=TIMEOUT_MS)
    try:
        return dict(await client.admin.command(command))
    finally:
        await client.close()


async def role(url: str) -> str:
    hello = await _admin(url, "hello")
    name = "primary" if hello.get("isWritablePrimary") else "secondary" if hello.get("secondary") else "standalone"
    return f"{name} (hello, set {hello.get('setName', '-')})"


async def lag(primary_url: str, replica_url: str) -> ServerLag:
    status = await _admin(primary_url, "replSetGetStatus")
    members = status.get("members", [])
    primary = next((m for m in members if m.get("stateStr") == "PRIMARY"), None)
    behind = [(primary["optimeDate"] - m["optimeDate"]).total_seconds()
              for m in members if primary and m.get("stateStr") == "SECONDARY"]
    if not behind:
        return ServerLag(detail="replSetGetStatus: no secondary")
    return ServerLag(replay_s=max(behind), detail="replSetGetStatus: primary optimeDate - secondary optimeDate (max)")


async def promote(url: str) -> str:
    await _admin(url, "replSetStepUp")
    return "replSetStepUp: the secondary called an election"


REPLICATION = Replication(
    port=27118, role=role, lag=lag, promote=promote,
    guarantees=(Guarantee("w:1", {"mongo_write_concern": "w1"}, {}, "acknowledged by the primary alone"),
                Guarantee("w:majority", {"mongo_write_concern": "majority"}, {},
                          "acknowledged once a majority of the set has it")),
    compose_service="mongo-2",
    backends_note="the native MongoDB stand-in (SecantusDB) is one node: replicas on compose or by URL",
)
