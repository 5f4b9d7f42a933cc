"""A crash inside the loss window, on the native servers: each store killed while it is still taking writes.

PostgreSQL with synchronous_commit=off acknowledges commits whose WAL may still be in its own memory, so a
process kill mid-stream can lose some of them; only the WAL not yet written to the OS is at risk (a few
orders), so a trial may lose none and the risky setting gets up to 15 trials to show a loss. With the
defaults it loses none in any trial. Redis without AOF loses what it acknowledged; with appendfsync
everysec a process kill loses nothing (the AOF is written to the OS before the reply; docs/faults.md
explains the postponed-write exception on a busy disk).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import sandbox, throwaway_stack

pytestmark = pytest.mark.stores("postgres", "redis")  # the stores its tests start or use
RISKY = "postgres.synchronous_commit=off,redis.appendonly=no"


def durability(env: dict[str, str], results: Path, profiles: str, repeat: int) -> tuple[Any, list[dict]]:
    before = set(results.glob("*-durability"))
    proc = sandbox("run", "durability", "--stores", "postgres,redis", "-p", f"repeat={repeat}", "--concurrency", "8",
                   "-p", f"profiles={profiles}", "-p", "kill_after_s=0.4", env=env, timeout=600)
    [new] = set(results.glob("*-durability")) - before
    rows = json.loads((new / "summary.json").read_text())["durability"]["rows"]
    for r in rows:
        assert r["error"] is None and r["acknowledged"] > 0, r
        assert r["crash"]["acked_at_kill"] > 0, "killed while it was taking writes, not after"
        assert r["crash"]["rate_at_kill"] > 0 and r["server_state"], r
    return proc, rows


def rows_said(stdout: str) -> str:
    """The durability table and what follows it (the verdicts), not the server statistics printed last."""
    at = stdout.find("durability:")
    return stdout[at:at + 4000] if at >= 0 else stdout[-3000:]


def of(rows: list[dict], store: str) -> list[int]:
    return [r["lost"] for r in rows if r["store"] == store]


def test_a_kill_mid_stream_loses_acknowledged_writes_only_where_the_setting_allows_it(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", extra_offset=630, stores=["postgres", "redis"]) as t:
        safe, rows = durability(t.env, t.ws.results_dir, "default", 3)
        assert safe.returncode == 0, rows_said(safe.stdout) + safe.stderr
        assert of(rows, "postgres") == [0, 0, 0], "synchronous_commit=on: nothing acknowledged is lost"
        assert of(rows, "redis") == [0, 0, 0], "appendfsync everysec, process kill: nothing lost"
        assert "durability:" in safe.stdout and "min/med/max" in safe.stdout  # the table users read

        postgres_lost: list[int] = []
        for _ in range(3):
            risky, rows = durability(t.env, t.ws.results_dir, RISKY, 5)
            assert risky.returncode == 3, rows_said(risky.stdout) + risky.stderr  # acknowledged writes lost
            assert all(n > 0 for n in of(rows, "redis")), "no AOF: a kill loses what Redis acknowledged"
            assert all("no AOF" in r["server_state"] for r in rows if r["store"] == "redis")
            assert all("WAL only in server memory" in r["server_state"] for r in rows if r["store"] == "postgres")
            postgres_lost += of(rows, "postgres")
            if max(postgres_lost) > 0:
                break
        assert max(postgres_lost) > 0, f"synchronous_commit=off lost nothing in {len(postgres_lost)} trials"
