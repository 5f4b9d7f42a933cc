"""The servers' background work on the timeline: a CHECKPOINT and a BGREWRITEAOF forced during a write phase are
found by the sampler (background.jsonl), drawn under the p99 curve in report.html and counted in the table of p99
inside vs outside. A throwaway stack of the test's own (the forced work would disturb other tests' numbers)."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from helpers import PROJECT, SANDBOX, throwaway_stack

from sandbox.measure.background import BackgroundSampler, _Store
from sandbox.stores.background import Activity

TEST_OFFSET = 780


def test_windows_are_bracketed_by_the_samples() -> None:
    sampler = BackgroundSampler([], None)
    store = _Store("s", lambda: None, None)  # type: ignore[arg-type, return-value]
    sampler._merge(store, [Activity("vacuum", "t")], 10.0)  # first sample: starts at it
    sampler._merge(store, [Activity("vacuum", "t")], 10.5)
    sampler._merge(store, [Activity("checkpoint", "3 timed", end=10.9)], 11.0)  # vacuum gone: ended by 11.0
    assert [(w.what, w.start, w.end, w.how) for w in sampler.windows] == [
        ("checkpoint", 10.5, 10.9, "between samples"), ("vacuum", 10.0, 11.0, "running")]


async def force(stack: Any) -> None:
    """As the stack's administrator: the run's own logins may not checkpoint or rewrite (least privilege)."""
    conn = await asyncpg.connect(stack.admin_url("postgres"))
    try:
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    client = aioredis.from_url(stack.admin_url("redis"))
    try:
        await client.bgrewriteaof()
    finally:
        await client.aclose()


def write_started(results: Path) -> bool:
    for timeline in results.glob("*/timeline.csv"):
        with timeline.open(newline="") as f:
            if sum(1 for row in csv.DictReader(f) if row["phase"] == "write") >= 4:  # two seconds of writes
                return True
    return False


@pytest.mark.stores()
def test_a_forced_checkpoint_and_aof_rewrite_show_under_the_p99_curve(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", TEST_OFFSET, ["postgres", "redis"]) as t:
        env = {**os.environ, "SANDBOX_PROJECT_DIR": str(PROJECT), **t.env}
        run = subprocess.Popen([*SANDBOX, "run", "orders", "--stores", "postgres,redis", "--rate", "100",
                                "--duration", "8", "--seed", "8"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 120
            while not write_started(t.ws.results_dir):
                assert run.poll() is None and time.monotonic() < deadline, "the write phase did not start"
                time.sleep(0.2)
            forced_at = time.time()
            asyncio.run(force(t.stack))
            out, err = run.communicate(timeout=240)
        finally:
            if run.poll() is None:
                run.kill()
        assert run.returncode == 0, out[-3000:] + err
        [folder] = list(t.ws.results_dir.iterdir())
        lines = [json.loads(line) for line in (folder / "background.jsonl").read_text().splitlines()]
        page = (folder / "report.html").read_text()
    windows = [w for w in lines if w["type"] == "window"]
    checkpoint = [w for w in windows if w["store"] == "postgres" and w["what"] == "checkpoint"]
    rewrite = [w for w in windows if w["store"] == "redis" and w["what"] == "AOF rewrite"]
    probes = [p for p in lines if p["type"] == "probe"]  # a failed sample says why (its last error)
    assert checkpoint and rewrite, (windows, probes)
    for w in (checkpoint[0], rewrite[0]):  # where it was forced, give or take the samples around it
        assert forced_at - 2 < w["start"] <= w["end"] < forced_at + 3, (w, forced_at)
    timeline = page[page.index('id="plot-plot-timeline"'):]
    timeline = timeline[:timeline.index("</figure>")]
    assert "checkpoint" in timeline and "AOF rewrite" in timeline and "background" in timeline
    table = page[page.index('id="table-background"'):]
    table = table[:table.index("</table>")]
    assert "checkpoint" in table and "AOF rewrite" in table
