"""Network partitions for real: a store behind a network namespace and veth pair, its link cut and healed. A cut
makes connections hang (no refusal, no "no route"), every order is classified, and the stack is as it was after.
Native backend as root; throwaway stacks of the tests' own."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from helpers import assert_usage_error, sandbox, throwaway_stack
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeout

from sandbox.config import endpoint
from sandbox.errors import UsageError
from sandbox.experiments.network.steps import moved, with_host
from sandbox.stack.faults import parse_faults
from sandbox.stack.netns import addresses, latency_unavailable, unavailable

TEST_OFFSET = 790


def test_each_port_gets_a_link_of_its_own() -> None:
    seen = {addresses(p) for p in range(0, 65536, 7)}
    assert len(seen) == len(range(0, 65536, 7))
    assert addresses(21432) == ("100.65.78.225", "100.65.78.226")


def test_a_url_moved_to_the_namespace_keeps_its_user_password_and_port() -> None:
    assert with_host("postgresql://u:p%40ss@127.0.0.1:21432/db?x=1", "100.64.0.2") == \
        "postgresql://u:p%40ss@100.64.0.2:21432/db?x=1"
    assert with_host("redis://:secret@localhost:22379", "100.64.0.6") == "redis://:secret@100.64.0.6:22379"


def test_partition_and_heal_are_fault_actions_and_delay_is_refused_with_the_kernels_reason() -> None:
    faults = parse_faults([{"store": "redis", "action": "partition", "at_s": 1},
                           {"store": "redis", "action": "heal", "after_s": 2}], ("redis",), None)
    assert [f.action for f in faults] == ["partition", "heal"]
    with pytest.raises(UsageError) as caught:
        parse_faults([{"store": "redis", "action": "delay", "at_s": 1}], ("redis",), None)
    assert "latency cannot be injected here" in str(caught.value) and "toxiproxy" in str(caught.value)
    if latency_unavailable() is not None:  # this kernel: no sch_netem
        assert "sch_netem" in str(caught.value) or "root" in str(caught.value)


def test_a_partition_without_isolate_is_one_line() -> None:
    proc = sandbox("run", "partition", "--stores", "postgres", "-p", "cut_s=0")
    assert_usage_error(proc, "cut_s must be a positive number")


def test_a_cut_link_hangs_connections_and_a_healed_one_answers_again(tmp_path: Path) -> None:
    assert unavailable() is None, f"this test needs a network namespace: {unavailable()}"
    with throwaway_stack(tmp_path / "state", TEST_OFFSET, ["redis"]) as t:
        net = t.stack.isolate("redis")
        url = endpoint(moved(t.settings, "redis", net.ns_ip), "redis").url
        try:
            asyncio.run(_hangs_then_answers(t.stack, url))
        finally:
            t.stack.release_isolation("redis")
        assert not os.path.exists(f"/sys/class/net/{net.host_if}")  # the veth pair went with the namespace
        assert t.stack.nets.stores() == [] and t.stack.is_running("redis")
        assert t.stack.owns("redis", endpoint(t.settings, "redis").url)  # back on loopback


async def _hangs_then_answers(stack: object, url: str) -> None:
    client = aioredis.from_url(url, socket_timeout=1.5, socket_connect_timeout=1.5)
    try:
        assert await client.ping()
        await asyncio.to_thread(stack.partition, "redis")  # type: ignore[attr-defined]
        started = time.monotonic()
        with pytest.raises((RedisTimeout, RedisConnectionError)) as caught:
            await client.ping()
        waited = time.monotonic() - started
        assert waited >= 1.4, f"answered in {waited:.2f} s: a refusal, not a hang ({caught.value!r})"
        assert "refused" not in str(caught.value).lower() and "no route" not in str(caught.value).lower()
        fresh = aioredis.from_url(url, socket_timeout=1.5, socket_connect_timeout=1.5)
        started = time.monotonic()
        with pytest.raises((RedisTimeout, RedisConnectionError)):
            await fresh.ping()  # a new connection's SYN gets no answer either
        assert time.monotonic() - started >= 1.4
        await fresh.aclose()
        await asyncio.to_thread(stack.heal, "redis")  # type: ignore[attr-defined]
        healed = aioredis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        assert await healed.ping()
        await healed.aclose()
    finally:
        await client.aclose()


@pytest.mark.stores()
def test_the_partition_scenario_classifies_every_order(tmp_path: Path) -> None:
    assert unavailable() is None, f"this test needs a network namespace: {unavailable()}"
    with throwaway_stack(tmp_path / "state", TEST_OFFSET, ["postgres", "redis"]) as t:
        # cut for longer than the scenario's 5 s operation timeout: the operations in flight become unknown
        done = sandbox("run", "partition", "--stores", "postgres,redis", "--seed", "6", "--duration", "10",
                       "-p", "at_s=2", "-p", "cut_s=6", env=t.env, timeout=300)
        assert done.returncode in (0, 3), done.stdout[-3000:] + done.stderr
        [folder] = list(t.ws.results_dir.iterdir())
        summary = json.loads((folder / "summary.json").read_text())
        page = (folder / "report.html").read_text()
        assert t.stack.nets.stores() == [] and t.stack.is_running("postgres")
    assert [f["action"] for f in summary["faults"]] == ["partition", "heal"]
    assert not any(f["detail"].startswith("FAILED") for f in summary["faults"])
    write = summary["stores"]["postgres"]["operations"]["write"]
    assert write["unknown"] > 0 and write["failed"] == 0, write  # hung until the timeout: none refused
    assert summary["stores"]["redis"]["operations"]["write"]["unknown"] == 0  # the other store: untouched
    check = summary["check"]["reports"][0]["stores"]["postgres"]
    assert check["error"] is None
    assert sum(check["counts"].values()) >= write["ok"] + write["unknown"]  # every order has its class
    assert check["counts"]["lost"] == 0
    assert summary["network"]["stores"]["postgres"]["address"].startswith("100.")
    timeline = page[page.index('id="plot-plot-timeline"'):]
    assert "partition postgres" in timeline[:timeline.index("</figure>")]
    assert 'id="table-network"' in page


def test_down_takes_a_leftover_namespace_and_its_veth_pair_along(tmp_path: Path) -> None:
    assert unavailable() is None, f"this test needs a network namespace: {unavailable()}"
    with throwaway_stack(tmp_path / "state", TEST_OFFSET, ["redis"]) as t:
        net = t.stack.isolate("redis")  # as a run killed with SIGKILL would leave it
        assert os.path.exists(f"/sys/class/net/{net.host_if}") and t.stack.owns(
            "redis", endpoint(moved(t.settings, "redis", net.ns_ip), "redis").url)
        t.stack.down()
        assert not os.path.exists(f"/sys/class/net/{net.host_if}") and t.stack.nets.stores() == []
