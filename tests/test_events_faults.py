"""The events faults on a stack of the module's own (PostgreSQL, Redis, NATS, RabbitMQ started once: RabbitMQ's
start is the slow part, ~10-16 s): a consumer process SIGKILLed after an effect it had not acked, the broker
SIGKILLed and restarted, the change capture stopped. Nothing may be lost; what each fault showed is in the run."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Throwaway, sandbox, throwaway_stack

pytestmark = pytest.mark.stores("postgres", "redis", "nats", "rabbitmq")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Throwaway]:
    with throwaway_stack(tmp_path_factory.mktemp("events") / "state", 760,
                         ["postgres", "redis", "nats", "rabbitmq"]) as t:
        yield t


def run(stack: Throwaway, *params: str) -> tuple[int, list[dict[str, Any]]]:
    try:
        proc = sandbox("run", "events-faults", "--orders", "120", "--seed", "5", *params, env=stack.env, timeout=600)
    except subprocess.TimeoutExpired as hung:  # seen once in a CI rehearsal: say where the run was
        said = [str(x or "")[-1500:] for x in (hung.stdout, hung.stderr)]
        pytest.fail(f"`sandbox run events-faults {' '.join(params)}` did not end in 600 s; it last printed: {said}")
    assert proc.returncode in (0, 3), proc.stdout[-2000:] + proc.stderr
    summary = sorted(Path(stack.env["SANDBOX_RESULTS_DIR"]).glob("*/summary.json"))[-1]
    return proc.returncode, json.loads(summary.read_text())["events"]["trials"]


def test_a_killed_consumer_brings_redeliveries_and_duplicate_effects_only_without_idempotence(
        stack: Throwaway) -> None:
    code, trials = run(stack, "-p", 'brokers=["nats"]', "-p", 'faults=["consumer-killed"]', "-p", "idempotent=false")
    (t,) = trials
    assert code == 0 and t["reconciled"]["counts"].get("lost", 0) == 0, t["faults"]
    again = t["reconciled"]["duplicates_delivered"]
    assert again >= 1, t["faults"]  # what the killed process had fetched and not acked came to the next one
    # Killed right after an effect it had not acked: that delivery came again and was applied again.
    assert t["reconciled"]["duplicates_applied"] >= 1, t["faults"]
    code, trials = run(stack, "-p", 'brokers=["nats"]', "-p", 'faults=["consumer-killed"]')
    (t,) = trials
    assert code == 0 and t["reconciled"]["duplicates_delivered"] >= 1
    assert t["reconciled"]["duplicates_applied"] == 0  # idempotent by event id: the repeat changed nothing


def test_a_broker_killed_and_restarted_loses_nothing_and_a_stopped_capture_retains_wal(stack: Throwaway) -> None:
    # NATS: RabbitMQ's reconnection after a kill can stall the saga under load (docs/events.md, an open finding)
    code, trials = run(stack, "-p", 'brokers=["nats"]', "-p", 'faults=["broker-killed","cdc-stopped"]',
                       "-p", "stop_s=4", "-p", "down_s=2")
    killed, stopped = trials
    assert code == 0, [t["saga"] for t in trials]
    for t in trials:
        assert t["settled"] and t["reconciled"]["counts"].get("lost", 0) == 0, t["reconciled"]
        assert not t["saga"]["ends"].get("illegal") and not t["saga"]["ends"].get("unfinished")
    assert "SIGKILL" in killed["faults"][0]["did"] and "started again" in killed["faults"][0]["did"]
    f = stopped["faults"][0]
    assert stopped["capture"] == "cdc" and f["retained_stopped"] > f["retained_before"], f
    assert "bytes/min" in f["showed"]
