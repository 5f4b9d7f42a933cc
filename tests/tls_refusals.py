"""What a run's connect (stores/connect.py, over model stores) says and what a model store's own connect raises,
per store, when the settings come from the environment: the refusal line, and the failure in words
(stores/tls.py). Printed as JSON by `python -m tests.tls_refusals STORE...` (tests/test_tls.py).

In a process of its own on purpose: a client that gives up mid-handshake can leave its socket open, and the
MongoDB stand-in performs every TLS handshake on its one accept thread with no timeout, so one such socket
stalls every later connection to it (the real mongod handshakes per connection). A process's exit closes all
of its sockets."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from sandbox.config import Workspace
from sandbox.errors import UsageError
from sandbox.stores import make_model_store
from sandbox.stores.connect import connect_all
from sandbox.stores.registry import StoreRegistry
from sandbox.stores.tls import tls_failure
from sandbox.workload.model_file import load
from tests.helpers import PROJECT


async def refusals(stores: list[str]) -> dict[str, str]:
    registry = StoreRegistry.built_in()
    settings = registry.settings("native", Workspace.from_env(dict(os.environ)), environ=dict(os.environ))
    model = load(PROJECT / "models" / "orders.toml")
    out: dict[str, str] = {}
    for store in stores:
        try:
            await connect_all([make_model_store(settings, store, "sbx_test_refused", model)])
            out[store] = "connected (no refusal)"
        except UsageError as refused:
            out[store] = str(refused)
        direct = make_model_store(settings, store, "sbx_test_refused", model)
        try:
            async with asyncio.timeout(30):
                await direct.connect()
            out[f"{store} model store"] = "connected (no failure)"
        except Exception as failed:
            out[f"{store} model store"] = tls_failure(failed) or f"not a TLS failure: {failed!r}"
        finally:
            await direct.close()
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(refusals(sys.argv[1:]))))
