"""MongoDB's background work: WiredTiger checkpoints (serverStatus wiredTiger.transaction: one running now, and
the checkpoint counter for the ones between two samples). The stand-in (SecantusDB) reports no wiredTiger
section: then the probe says so."""

from __future__ import annotations

import time
from typing import Any

from sandbox.config import Endpoint
from sandbox.stores.background import Activity, went_up

RUNNING = "transaction checkpoint currently running"
COUNT = "transaction checkpoints"


class MongoBackground:
    sees = ("checkpoint",)

    def __init__(self, client: Any):
        self.client = client
        self.before: dict[str, float] | None = None
        self.blind: tuple[str, ...] = ()

    async def sample(self) -> list[Activity]:
        status = await self.client.admin.command("serverStatus")
        txn = (status.get("wiredTiger") or {}).get("transaction")
        if not txn:
            self.blind = ("checkpoints: serverStatus has no wiredTiger section on this server",)
            return []
        out = [Activity("checkpoint", "WiredTiger")] if txn.get(RUNNING) else []
        now = {COUNT: float(txn.get(COUNT, 0))}
        if not out and (up := went_up(now, self.before)):
            out.append(Activity("checkpoint", f"WiredTiger, {int(up[COUNT])} since the last sample", end=time.time()))
        self.before = now
        return out

    async def close(self) -> None:
        await self.client.close()


async def open_probe(endpoint: Endpoint) -> MongoBackground:
    from pymongo import AsyncMongoClient

    client: Any = AsyncMongoClient(endpoint.url, serverSelectionTimeoutMS=5000, appname="sandbox background probe")
    await client.admin.command("ping")
    return MongoBackground(client)
