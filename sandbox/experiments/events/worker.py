"""The read-model consumer group in a process of its own, so a fault can kill it for real (SIGKILL mid-batch).

    python -m sandbox.experiments.events.worker   < spec (JSON on stdin: URLs carry passwords, argv is public)

It applies each delivery of topic `orders` to the read model and acks it, writing one JSON line per delivery
received and per delivery applied to stdout (the parent's ledger reads them). `delay_ms` per delivery stands for
a slow handler (half before its effect, half between the effect and the ack); before acking an effect it waits
for a line from the parent, which may kill it there instead: a kill inside a batch, after an effect, before its ack:
fetched, part applied, the rest not acked, one applied and not acked.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from decimal import Decimal
from typing import Any

from sandbox.config import Endpoint
from sandbox.stores.events import Event
from sandbox.stores.registry import StoreRegistry

GROUP, TOPIC = "read-model", "orders"


def _say(**line: Any) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


async def serve() -> None:
    reader = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    spec = json.loads(await reader.readline())
    registry = StoreRegistry.built_in()
    broker_kind, view_kind = registry.kind(spec["broker"]), registry.kind(spec["read_model"])
    broker = broker_kind.roles["broker"](Endpoint(spec["broker"], spec["broker_url"]), spec["namespace"],
                                         spec["broker_options"])
    view = view_kind.roles["read_model"](Endpoint(spec["read_model"], spec["read_model_url"]), spec["namespace"])
    await broker.connect()
    consumer = broker.consumer(TOPIC, GROUP, spec["member"])
    pause = spec["delay_ms"] / 2000  # half before the effect, half after it
    _say(ready=True)
    while True:
        try:
            deliveries = await consumer.fetch(spec["batch"], 0.2)
        except Exception:  # the broker is down: ask again
            await asyncio.sleep(0.2)
            continue
        received = time.time()
        events = [Event.decode(d.body) for d in deliveries]
        for event in events:  # handed over: a kill from here on brings the unacked ones again
            _say(received=event.id, t=event.times, at=received)
        for d, event in zip(deliveries, events, strict=True):
            await asyncio.sleep(pause)
            try:
                if event.type == "order.confirmed":
                    await view.apply(event.id, str(event.data["customer"]), Decimal(str(event.data["total"])),
                                     spec["idempotent"])
                # Done before the ack: a kill between the two is a delivery applied and not acked, which comes
                # again (a duplicate effect unless the consumer is idempotent), never an effect the ledger missed.
                _say(done=event.id, key=event.key, seq=event.seq, type=event.type, t=event.times, received=received,
                     at=time.time())
                await asyncio.sleep(pause)  # the handler's work after its effect, before the ack
                if event.type == "order.confirmed":
                    # The parent answers each effect with a line before the ack goes: where a kill lands is its
                    # choice, not the scheduler's.
                    await reader.readline()
                await consumer.ack(d)
            except Exception as exc:  # not acked: it comes again
                _say(failed=event.id, error=f"{type(exc).__name__}: {exc}"[:200])


def main() -> None:
    asyncio.run(serve())


if __name__ == "__main__":
    main()
