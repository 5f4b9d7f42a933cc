"""Elasticsearch on the native backend: the osmem in-memory stand-in from PyPI."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sandbox.errors import UsageError
from sandbox.stores.launch import LaunchContext, NativeLauncher, spawn

INSTALL_HINT = "pip install -e '.[native]'  (installs osmem-server)"


def start(ctx: LaunchContext) -> int:
    spec = importlib.util.find_spec("osmem_server")
    binary = Path(spec.origin).parent / "bin" / "osmem-server" if spec and spec.origin else None
    if binary is None or not binary.exists():
        raise UsageError(f"osmem-server (Elasticsearch stand-in) not found: {INSTALL_HINT}")
    # -no-stdin-watch: it would exit when our stdin closes; -no-ja: 300 MB -> 18 MB of memory.
    return spawn([str(binary), "-addr", f"{ctx.host}:{ctx.port}", "-no-stdin-watch", "-no-ja"], ctx.log)


# osmem-server 0.1.6 has no TLS option (its flags: -addr, -seed, -freeze, -no-ja, ...).
LAUNCHER = NativeLauncher(start, INSTALL_HINT, no_tls="the osmem stand-in (osmem-server 0.1.6) serves no TLS")
