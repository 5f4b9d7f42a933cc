"""NATS on the native backend: Debian's nats-server with JetStream, its password in a mode-600 config file."""

from __future__ import annotations

from sandbox.stores.launch import LaunchContext, NativeLauncher, spawn, which

INSTALL_HINT = "apt-get install -y nats-server"


def start(ctx: LaunchContext) -> int:
    binary = which("nats-server", INSTALL_HINT)
    conf = ctx.root / "nats.conf"
    store = ctx.root / "jetstream"
    store.mkdir(exist_ok=True)
    # Loopback only, no monitoring port; JetStream keeps its streams under the store's own folder.
    conf.write_text("\n".join([
        f"listen: 127.0.0.1:{ctx.port}",
        f'jetstream {{ store_dir: "{store}" }}',
        f'authorization {{ user: sandbox, password: "{ctx.secrets["NATS_PASSWORD"]}" }}',
    ]) + "\n")
    conf.chmod(0o600)
    return spawn([binary, "-c", str(conf)], ctx.log)


LAUNCHER = NativeLauncher(start, INSTALL_HINT)
