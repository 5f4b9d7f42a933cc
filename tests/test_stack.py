"""The native backend on a stack of the test's own: up, status, down, failures, a store dying mid-run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from sandbox.config import endpoint
from sandbox.stack.pids import start_time as _start_time
from sandbox.stores.redis import mapping as redis_mapping
from sandbox.stores.registry import StoreRegistry
from sandbox.workload.model_file import find, load
from tests.helpers import PROJECT, assert_usage_error, sandbox, throwaway_stack

pytestmark = pytest.mark.stores("postgres", "redis", "influx")  # the stores its tests start or use

def test_up_status_down_leaves_no_process_behind(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", extra_offset=600) as t:
        proc = sandbox("up", "--backend", "native", env=t.env)
        assert proc.returncode == 0, proc.stderr
        pids = t.stack.running()
        assert set(pids) == set(StoreRegistry.built_in().started)  # the stores and the brokers
        started = {store: _start_time(pid) for store, pid in pids.items()}

        status = sandbox("status", env=t.env)
        assert status.returncode == 0, status.stdout + status.stderr
        for product in ("PostgreSQL", "SecantusDB", "Redis", "OpenSearch API", "InfluxDB", "NATS", "RabbitMQ"):
            assert product in status.stdout
        assert "***" in status.stdout  # passwords masked in URLs
        assert sandbox("up", env=t.env).stdout.count("already up") == 1  # idempotent

        down = sandbox("down", env=t.env)
        assert down.returncode == 0, down.stderr
        for store, pid in pids.items():
            assert _start_time(pid) != started[store], f"{store} (pid {pid}) still runs after down"
        epmd = t.port("rabbitmq") - 1304  # RabbitMQ's epmd outlives its node: down stops it too
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", epmd)) != 0, f"epmd still listens on {epmd} after down"
        assert_usage_error(sandbox("status", env=t.env), "not reachable: postgres, mongo, redis")  # all gone

        data_dirs = [t.stack.store_dir(s) for s in StoreRegistry.built_in().started]
        assert all(d.exists() for d in data_dirs)  # down keeps the data for the next up
        assert sandbox("down", "--purge", env=t.env).returncode == 0
        assert not any(d.exists() for d in data_dirs)


def test_a_taken_port_fails_clearly_and_stops_what_up_started(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", extra_offset=650) as t, socket.socket() as squatter:
        squatter.bind(("127.0.0.1", t.port("redis")))
        squatter.listen()
        proc = sandbox("up", "--backend", "native", "--stores", "postgres,redis", env=t.env)
        assert_usage_error(proc, f"port {t.port('redis')} for redis is already in use")
        assert t.stack.running() == {}, "a failed up must stop the stores it started"


def test_a_missing_server_binary_is_named_with_how_to_install(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", extra_offset=660) as t:
        proc = sandbox("up", "--backend", "native", "--stores", "redis", env={**t.env, "PATH": "/nonexistent"})
        assert_usage_error(proc, "redis-server not found", "apt-get install -y redis-server")


def test_a_store_killed_mid_run_is_counted_the_others_go_on_and_exit_is_3(tmp_path: Path) -> None:
    # The three real servers only: the stand-ins would only make the test slower.
    with throwaway_stack(tmp_path / "state", extra_offset=700, stores=["postgres", "redis", "influx"]) as t:
        argv = [sys.executable, "-m", "sandbox", "run", "orders", "--orders", "1500", "--seed", "77",
                "--concurrency", "4", "--stores", "postgres,redis,influx"]
        run = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **t.env})
        assert run.stdout is not None
        header = run.stdout.readline()  # "run <run id>  scenario orders ..." once every store is connected
        assert header.startswith("run "), header + run.communicate()[1]
        layout = redis_mapping.derive(load(find(PROJECT, "orders"))).layouts["order"]
        orders_key = redis_mapping.index_key(f"sbx_{header.split()[1]}", layout, layout.every, ())  # every order
        with redis.Redis.from_url(endpoint(t.settings, "redis").url) as client:
            deadline = time.monotonic() + 120
            while client.zcard(orders_key) < 100:  # mid-run: Redis holds some of the orders, not all
                assert time.monotonic() < deadline and run.poll() is None, "the run never got going"
                time.sleep(0.02)
        t.stack.signal("redis", signal.SIGKILL)
        out, err = run.communicate(timeout=300)
        assert run.returncode == 3, out[-3000:] + err
        assert "Traceback" not in out + err

        summary = json.loads(next(t.ws.results_dir.glob("*-orders/summary.json")).read_text())
        killed = summary["stores"]["redis"]
        write = killed["operations"]["write"]
        assert write["ok"] > 0 and write["failed"] + write["unknown"] > 0 and write["first_errors"]
        # The calls that failed are timed too, beside the successes, and in the p99 over every attempt.
        errors = (write["failed_ms"]["max"] or 0, write["unknown_ms"]["max"] or 0)
        assert max(errors) > 0 and write["all_attempts_ms"]["max"] >= min(e for e in errors if e)
        assert "redis write:" in out and "p99 over all attempts" in out  # shown beside the successes
        assert killed["consistency"]["consistent"] is False
        assert killed["consistency"]["missing"] > 0 or killed["consistency"]["error"]
        for name in ("postgres", "influx"):
            assert summary["stores"][name]["consistency"]["consistent"], name
            assert summary["stores"][name]["operations"]["write"]["orders"] == 1500


def test_a_duration_limited_outage_checks_only_what_was_sent(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", extra_offset=750, stores=["redis"]) as t:
        proc = sandbox("run", "outage", "--stores", "redis", "--duration", "2", "-p", "at_op=50", "-p", "down_s=0.5",
                       env=t.env, timeout=120)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
        summary = json.loads(next(t.ws.results_dir.glob("*-outage/summary.json")).read_text())
        counts = summary["check"]["reports"][-1]["stores"]["redis"]["counts"]
        written = summary["stores"]["redis"]["operations"]["write"]
        attempted = sum(counts.values()) - counts["not_attempted"]
        assert attempted == written["ok"] + written["failed"] + written["unknown"] + written.get("warmup_ops", 0)
        # the outage refused or cut calls (refused ones count as failed), and nothing acknowledged was lost
        assert counts["lost"] == 0 and written["failed"] + written["unknown"] > 0, (counts, written)
