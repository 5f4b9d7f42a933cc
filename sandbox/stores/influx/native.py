"""InfluxDB on the native backend: the OS package's influxd 1.x, auth off (loopback only); https with the
stack's certificate under `sandbox up --tls`."""

from __future__ import annotations

from sandbox.stores.launch import LaunchContext, NativeLauncher, spawn, which

INSTALL_HINT = "apt-get install -y influxdb"


def start(ctx: LaunchContext) -> int:
    binary = which("influxd", INSTALL_HINT)
    root = ctx.root
    conf = root / "influxdb.conf"
    https = "" if ctx.tls is None else (f'  https-enabled = true\n  https-certificate = "{ctx.tls.cert}"\n'
                                        f'  https-private-key = "{ctx.tls.key}"\n')
    conf.write_text(f"""reporting-disabled = true
bind-address = "{ctx.host}:{ctx.port + 2}"
[meta]
  dir = "{root / 'meta'}"
[data]
  dir = "{root / 'data'}"
  wal-dir = "{root / 'wal'}"
  query-log-enabled = false
[http]
  bind-address = "{ctx.host}:{ctx.port}"
  log-enabled = false
{https}[monitor]
  store-enabled = false
""")
    return spawn([binary, "run", "-config", str(conf)], ctx.log)


LAUNCHER = NativeLauncher(start, INSTALL_HINT, serves_tls=True)
