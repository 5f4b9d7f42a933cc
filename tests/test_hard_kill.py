"""A harness that dies hard harms nobody: with foreign data on every store (planted through each store's own
client, tests/raw.py, by the stack's administrative login: names outside the sbx_ pattern, and one inside it
without a marker), the sandbox process is killed with SIGKILL mid-write. Then the foreign data is intact, `sandbox
gc` finds exactly the run's namespace on every store, `gc --yes` drops it and nothing else."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time

import redis

from sandbox.config import Settings
from tests.helpers import BUILT_IN, PROJECT, SecureStack, model, sandbox
from tests.raw import Raw

STORES = [n for n in BUILT_IN.names if BUILT_IN.kind(n).markers is not None]
ROOT = model().root  # the orders model's root entity: the Redis model store's hashes are {ns}:{entity}:{key}


async def _each(settings: Settings, admin: dict[str, str], action: str, *names: str) -> dict[str, list[bool]]:
    out: dict[str, list[bool]] = {}
    for store in STORES:
        async with Raw(store, settings, admin[store]) as raw:
            out[store] = [bool(await getattr(raw, action)(name)) for name in names]
    return out


def _rows(gc_out: str, namespace: str) -> list[str]:
    return [line for line in gc_out.splitlines() if namespace in line]


def test_sigkill_mid_write_leaves_foreign_data_intact_and_gc_drops_only_the_runs_namespaces(
        secured: SecureStack) -> None:
    t = secured.t
    admin = {s: t.stack.admin_url(s) for s in STORES}
    tag = secrets.token_hex(3)
    foreign = [f"keepme_{tag}", f"sbx_20200101t000000_{tag}"]  # outside the run's pattern, and inside it unmarked
    asyncio.run(_each(t.settings, admin, "plant_foreign", *foreign))
    try:
        run = subprocess.Popen([sys.executable, "-m", "sandbox", "run", "orders", "--orders", "1000000",
                                "--concurrency", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "SANDBOX_PROJECT_DIR": str(PROJECT), **t.env})
        assert run.stdout is not None
        header = run.stdout.readline()  # "run <run id> ..." once every store is connected and prepared
        assert header.startswith("run "), header + run.communicate()[1]
        namespace = f"sbx_{header.split()[1]}"
        with redis.Redis.from_url(admin["redis"]) as client:
            deadline = time.monotonic() + 180
            while sum(1 for _ in client.scan_iter(f"{namespace}:{ROOT}:*", count=1000)) < 50:  # mid-write
                assert time.monotonic() < deadline and run.poll() is None, "the run never got going"
                time.sleep(0.02)
        os.kill(run.pid, signal.SIGKILL)
        run.communicate(timeout=60)
        assert run.returncode == -signal.SIGKILL

        assert asyncio.run(_each(t.settings, admin, "namespace_exists", namespace)) == {s: [True] for s in STORES}
        dry = sandbox("gc", "--older-than", "0s", env=t.env)
        assert dry.returncode == 0, dry.stdout + dry.stderr
        rows = _rows(dry.stdout, namespace)
        assert len(rows) == len(STORES) and all("would drop" in r for r in rows), dry.stdout
        assert foreign[1] in dry.stdout and "no marker, left alone" in dry.stdout
        assert "would drop" not in "".join(_rows(dry.stdout, tag)), "a planted namespace is not the run's"

        done = sandbox("gc", "--older-than", "0s", "--yes", env=t.env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert sum("dropped" in r for r in _rows(done.stdout, namespace)) == len(STORES), done.stdout
        assert sum("dropped" in line for line in done.stdout.splitlines()) == len(STORES), "gc dropped only those"
        assert asyncio.run(_each(t.settings, admin, "namespace_exists", namespace)) == {s: [False] for s in STORES}
        assert asyncio.run(_each(t.settings, admin, "foreign_intact", *foreign)) == {s: [True, True] for s in STORES}
    finally:
        asyncio.run(_each(t.settings, admin, "drop_foreign", *foreign))
