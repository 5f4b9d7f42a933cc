"""Run a store's native launcher inside the namespace this process was started in.

`nsenter -t <holder> -m -- python -m sandbox.stack.ns_launch` (small_disk.py): the launcher's own file
work (initdb, config files) and the server it starts then see the namespace's small disk; with `-n`
(netns.py) the server gets the network namespace's link and listens on `host`. Reads {"store", "root",
"port", "log", "secrets", "durability", "host"} as JSON on stdin, prints the server's PID.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from sandbox.errors import SandboxError
from sandbox.stores.launch import LaunchContext
from sandbox.stores.registry import StoreRegistry


def main() -> int:
    spec = json.load(sys.stdin)
    launcher = StoreRegistry.load(os.environ).kind(spec["store"]).native
    if launcher is None:
        print(f"{spec['store']} has no native server", file=sys.stderr)
        return 2
    ctx = LaunchContext(Path(spec["root"]), int(spec["port"]), Path(spec["log"]), spec["secrets"], spec["durability"],
                        host=spec.get("host", "127.0.0.1"))
    try:
        print(launcher.start(ctx))
    except SandboxError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
