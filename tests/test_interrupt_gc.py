"""The harness survives its own interruption: SIGINT / SIGTERM mid-run leave no namespace behind and
write a summary; `sandbox gc` finds marked leftovers of killed runs and never touches unmarked ones."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from sandbox.config import Settings, endpoint
from sandbox.stores import make_model_store
from sandbox.stores.markers import Marker
from sandbox.stores.redis import mapping as redis_mapping
from sandbox.stores.registry import StoreRegistry
from tests.helpers import dataset, model, sandbox
from tests.raw import Raw

BUILT_IN = StoreRegistry.built_in()
STORE_NAMES = BUILT_IN.names


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_a_signal_mid_run_stops_the_writes_drops_the_namespaces_and_writes_a_summary(
        sig: signal.Signals, tmp_path: Path, live: Settings) -> None:
    argv = [sys.executable, "-m", "sandbox", "run", "orders", "--orders", "1000000", "--concurrency", "2"]
    run = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env={**os.environ, "SANDBOX_RESULTS_DIR": str(tmp_path)})
    assert run.stdout is not None
    header = run.stdout.readline()  # "run <run id> ..." once every store is connected
    assert header.startswith("run "), header + run.communicate()[1]
    namespace = f"sbx_{header.split()[1]}"
    layout = redis_mapping.derive(model()).layouts["order"]
    every_order = redis_mapping.index_key(namespace, layout, layout.every, ())  # the design's set of all orders
    with redis.Redis.from_url(endpoint(live, "redis").url) as client:
        deadline = time.monotonic() + 120
        while client.zcard(every_order) < 50:  # mid-write
            assert time.monotonic() < deadline and run.poll() is None, "the run never got going"
            time.sleep(0.02)
    run.send_signal(sig)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 128 + sig, out[-2000:] + err
    assert "Traceback" not in out + err
    assert f"interrupted by {sig.name}" in err and "namespaces dropped" in err, err

    summary = json.loads(next(tmp_path.glob("*-orders/summary.json")).read_text())
    assert summary["interrupted"] is True and summary["interrupted_by"] == sig.name
    assert summary["completed_phases"] == ["prepare"], "stopped during the write phase"
    written = {name: s["operations"]["write"]["ok"] for name, s in summary["stores"].items()}
    assert written["redis"] > 0 and all(n < 1_000_000 for n in written.values()), written
    for name in STORE_NAMES:
        async with Raw(name, live) as raw:
            assert not await raw.namespace_exists(namespace), f"{name} kept {namespace}"


async def _plant_marked(store: str, settings: Settings, namespace: str) -> None:
    """A namespace as a killed run leaves it: created by prepare, marked two hours ago on another host."""
    adapter = make_model_store(settings, store, namespace, model(), 2)
    await adapter.connect()
    try:
        await adapter.prepare(dataset(1))
        old = Marker(namespace, namespace.removeprefix("sbx_"), datetime.now(UTC) - timedelta(hours=2),
                     "a-host-that-died", 4242)
        markers = BUILT_IN.kind(store).markers
        assert markers is not None, f"{store} declares no markers"
        await markers.mark(adapter, old)
    finally:
        await adapter.close()  # no teardown: the run "was killed"


async def test_gc_drops_marked_leftovers_only_and_only_when_asked(live: Settings) -> None:
    tag = secrets.token_hex(3)
    marked, unmarked = f"sbx_20200101t000000_{tag}", f"sbx_20200101t000001_{tag}"  # the same name pattern
    for store in STORE_NAMES:
        await _plant_marked(store, live, marked)
        async with Raw(store, live) as raw:
            await raw.plant_foreign(unmarked)
    try:
        dry = sandbox("gc", "--older-than", "1h")
        assert dry.returncode == 0, dry.stdout + dry.stderr
        rows = [line for line in dry.stdout.splitlines() if marked in line]
        assert len(rows) == len(STORE_NAMES) and all("would drop" in r for r in rows), dry.stdout
        assert "dry run: nothing dropped" in dry.stdout
        assert unmarked in dry.stdout and "no marker, left alone" in dry.stdout
        for store in STORE_NAMES:
            async with Raw(store, live) as raw:
                assert await raw.namespace_exists(marked), f"dry run dropped {store}'s {marked}"

        young = sandbox("gc", "--older-than", "3h", "--yes")
        assert young.returncode == 0 and "kept: younger than" in young.stdout, young.stdout
        assert "dropped" not in "".join(line for line in young.stdout.splitlines() if marked in line)

        done = sandbox("gc", "--older-than", "1h", "--yes")
        assert done.returncode == 0, done.stdout + done.stderr
        assert sum(1 for line in done.stdout.splitlines() if marked in line and "dropped" in line) == \
            len(STORE_NAMES), done.stdout
        for store in STORE_NAMES:
            async with Raw(store, live) as raw:
                assert not await raw.namespace_exists(marked), f"{store} still has {marked}"
                assert await raw.foreign_intact(unmarked), f"gc touched {store}'s unmarked {unmarked}"
    finally:
        for store in STORE_NAMES:
            async with Raw(store, live) as raw:
                await raw.drop_foreign(unmarked)
                await raw.drop_foreign(marked)


def test_gc_with_a_bad_age_is_one_line_and_exit_2() -> None:
    proc = sandbox("gc", "--older-than", "soon")
    assert proc.returncode == 2 and proc.stderr.startswith("error: --older-than") and "Traceback" not in proc.stderr


def test_every_built_in_kind_declares_its_markers() -> None:
    """Each folder's KIND says how its namespaces are marked (stores/<name>/markers.py), so gc sees them all."""
    assert [name for name, kind in BUILT_IN.kinds.items() if kind.markers is None] == []
