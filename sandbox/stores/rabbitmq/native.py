"""RabbitMQ on the native backend: Debian's rabbitmq-server as a node of the sandbox's own.

Not the package's node: its own node name (sbx<port>@localhost), config files, Erlang cookie (HOME is the
node's folder) and data, all in its folder, owned by the `rabbitmq` user (the server refuses to run as root);
AMQP, the Erlang distribution port and epmd on loopback only, on ports derived from the AMQP port (dist = AMQP +
10000, epmd = AMQP - 1304: 25673 and 14369 before SANDBOX_PORT_OFFSET). The real start script is run directly
(Debian's /usr/sbin wrapper switches user with `su` and logs elsewhere) with RUNNING_UNDER_SYSTEMD set, so it
execs the Erlang VM (the PID the stack records) and the VM itself turns SIGTERM into a clean shutdown. Erlang
starts epmd as a daemon that outlives the node: `cleanup` stops it (`epmd -kill`).

Measured here (2 busy cores): first start (a fresh node) ~16 s, later starts ~8 s, SIGTERM to exit ~2 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sandbox.stores.launch import LaunchContext, NativeLauncher, reachable_dir, spawn, which

INSTALL_HINT = "apt-get install -y rabbitmq-server"
SCRIPT = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
USER = "rabbitmq"


def ports(amqp: int) -> tuple[int, int]:
    """(distribution, epmd) for an AMQP port."""
    return amqp + 10000, amqp - 1304


def data_dir(state_dir: Path) -> Path:
    return reachable_dir(state_dir, "rabbitmq", USER)


def start(ctx: LaunchContext) -> int:
    if not SCRIPT.exists():
        raise FileNotFoundError(f"{SCRIPT} not found: {INSTALL_HINT}")
    setpriv = which("setpriv", "util-linux")
    dist, epmd = ports(ctx.port)
    root = ctx.root
    (root / "rabbitmq.conf").write_text("\n".join([
        f"listeners.tcp.1 = 127.0.0.1:{ctx.port}",
        "default_user = sandbox",
        f"default_pass = {ctx.secrets['RABBITMQ_PASSWORD']}",
        "loopback_users = none",
        "log.console = true", "log.console.level = warning", "log.file = false",
    ]) + "\n")
    (root / "advanced.config").write_text(
        f"[{{kernel, [{{inet_dist_use_interface, {{127,0,0,1}}}}, {{inet_dist_listen_min, {dist}}}, "
        f"{{inet_dist_listen_max, {dist}}}]}}].\n")
    (root / "enabled_plugins").write_text("[].\n")  # no management plugin: a faster start, no HTTP port
    for path in (root, *root.iterdir()):
        if os.geteuid() == 0:
            shutil.chown(path, USER, USER)
    (root / "rabbitmq.conf").chmod(0o600)
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(root), "LANG": "C.UTF-8",
           "RABBITMQ_NODENAME": f"sbx{ctx.port}@localhost", "RABBITMQ_CONFIG_FILE": str(root / "rabbitmq.conf"),
           "RABBITMQ_ADVANCED_CONFIG_FILE": str(root / "advanced.config"),
           "RABBITMQ_ENABLED_PLUGINS_FILE": str(root / "enabled_plugins"),
           "RABBITMQ_MNESIA_BASE": str(root / "mnesia"), "RABBITMQ_LOG_BASE": str(root / "log"),
           "RABBITMQ_LOGS": "-", "RABBITMQ_PID_FILE": str(root / "pid"), "RABBITMQ_CONF_ENV_FILE": "/dev/null",
           "ERL_EPMD_ADDRESS": "127.0.0.1", "ERL_EPMD_PORT": str(epmd), "RUNNING_UNDER_SYSTEMD": "true"}
    user = [setpriv, "--reuid", USER, "--regid", USER, "--init-groups"] if os.geteuid() == 0 else []
    return spawn(["env", "-i", *(f"{k}={v}" for k, v in env.items()), *user, str(SCRIPT)], ctx.log)


def cleanup(root: Path, port: int) -> None:
    """Stop the epmd the node started on its port (it refuses while a node is still registered)."""
    epmd = shutil.which("epmd") or "/usr/lib/erlang/bin/epmd"
    if Path(epmd).exists():
        subprocess.run([epmd, "-kill"], env={**os.environ, "ERL_EPMD_PORT": str(ports(port)[1])},
                       capture_output=True, timeout=10)


LAUNCHER = NativeLauncher(start, INSTALL_HINT, data_dir=data_dir, cleanup=cleanup)
