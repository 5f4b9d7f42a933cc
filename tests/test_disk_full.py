"""A store's disk running out of space: a real Redis (AOF, everysec) whose data directory is a 2 MB tmpfs
in a private mount namespace (`unshare -m`, root only). Writes are refused once the AOF cannot be
written, nothing acknowledged is lost, and once the space returns Redis takes writes again."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from sandbox.config import Endpoint
from sandbox.measure.checker import Verdict, check_stores
from sandbox.measure.history import OpHistory
from sandbox.measure.load import closed_loop
from sandbox.measure.timing import TimedStore
from sandbox.stores.registry import StoreRegistry
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import find, load
from tests.helpers import PROJECT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, (proc.stderr.read() if proc.stderr else "") or "redis-server exited"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"redis-server did not open port {port}")


@pytest.fixture
def redis_on_a_small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    for binary in ("unshare", "nsenter", "redis-server"):
        if shutil.which(binary) is None:
            pytest.fail(f"{binary} not found: apt-get install -y util-linux redis-server")
    data, port = tmp_path / "data", _free_port()
    data.mkdir()
    script = (f"mount -t tmpfs -o size=2m tmpfs {data} && exec redis-server --bind 127.0.0.1 --port {port} "
              f"--dir {data} --appendonly yes --appendfsync everysec --save '' --daemonize no")
    proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_port(port, proc)
        yield proc, port, data
    finally:
        proc.kill()
        proc.wait()


async def test_a_full_disk_refuses_writes_loses_nothing_acknowledged_and_recovers(  # type: ignore[no-untyped-def]
        redis_on_a_small_disk, tmp_path: Path) -> None:
    proc, port, data = redis_on_a_small_disk
    kind = StoreRegistry.built_in().kind("redis")
    model = load(find(PROJECT, "orders"))
    assert kind.model_store is not None
    store = kind.model_store(Endpoint("redis", f"redis://127.0.0.1:{port}/0"), "sbx_test_diskfull", model,
                             {"connections": 4})
    dataset = Dataset(model, 3, Sizes(6000))  # ~6 MB of AOF: three times the disk
    history = OpHistory(tmp_path / "history.jsonl")
    await store.connect()
    try:
        await store.prepare(dataset)
        ts = TimedStore(store, 10.0, [history.listener], entity=model.root, key=model.root_entity.key)
        await closed_loop(dataset.roots(), ts.write, 4)
        stats = ts.op("write")
        assert stats.ok > 0 and stats.failed > 0, (stats.ok, stats.failed, stats.first_errors)
        assert any("No space left on device" in e or "MISCONF" in e for e in stats.first_errors), stats.first_errors
        with redis.Redis(port=port, decode_responses=True) as client:
            assert client.info("persistence")["aof_last_write_status"] == "err"

        check = (await check_stores(dataset, dataset.count, {"redis": store}, history.outcomes))["redis"]
        assert check.error is None and check.counts[Verdict.LOST] == 0, check.counts
        assert check.counts[Verdict.OK] == stats.ok and check.counts[Verdict.DIVERGENT] == 0, check.counts

        # Space returns (the tmpfs grows); Redis retries the AOF write on its own and takes writes again.
        subprocess.run(["nsenter", "-t", str(proc.pid), "-m", "mount", "-o", "remount,size=64m", str(data)],
                       check=True, capture_output=True)
        later = Dataset(model, 4, Sizes(1))
        deadline = time.monotonic() + 10
        while not (await ts.write(later.root(0))):
            assert time.monotonic() < deadline, f"no recovery after space returned: {ts.op('write').first_errors}"
            time.sleep(0.2)
        with redis.Redis(port=port, decode_responses=True) as client:
            assert client.info("persistence")["aof_last_write_status"] == "ok"
    finally:
        history.close()
        await store.close()
