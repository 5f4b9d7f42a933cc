"""MongoDB on the native backend: the SecantusDB stand-in from PyPI (no auth, loopback only); TLS with the
stack's certificate under `sandbox up --tls` (its --tls-cert-file / --tls-key-file: TLS only on that port)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from sandbox.errors import UsageError
from sandbox.stores.launch import LaunchContext, NativeLauncher, spawn

INSTALL_HINT = "pip install -e '.[native]'  (installs secantusdb)"


def start(ctx: LaunchContext) -> int:
    binary = shutil.which("secantusd-py", path=f"{Path(sys.executable).parent}{os.pathsep}"
                                               f"{os.environ.get('PATH', '')}")
    if binary is None:
        raise UsageError(f"secantusd-py (MongoDB stand-in) not found: {INSTALL_HINT}")
    argv = [binary, "--host", ctx.host, "--port", str(ctx.port), "--storage-path", str(ctx.root / "data"),
            "--log-level", "WARNING"]
    if ctx.durability["sync_on_commit"]:
        argv.append("--sync-on-commit")
    if ctx.tls is not None:
        argv += ["--tls-cert-file", str(ctx.tls.cert), "--tls-key-file", str(ctx.tls.key)]
    return spawn(argv, ctx.log)


LAUNCHER = NativeLauncher(start, INSTALL_HINT, serves_tls=True)
