"""Cancellation must reach the task it was sent to.

On Python 3.11 (this project's CI), `asyncio.wait_for` swallows a cancellation that arrives in the same
loop iteration as its inner call's answer: it returns the answer instead (CPython gh-86296, fixed in 3.12).
A loop that waits that way is then never stopped, and whoever awaits it after cancelling hangs. It was
seen here: a test's Redis throttle went on after its cancel in 1 of ~150 tries (redis-py sends through
wait_for). So the sandbox uses `asyncio.timeout`, which keeps count of cancellations, and never wait_for.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import os
import signal
from pathlib import Path

import pytest

from sandbox.config import Settings, Workspace
from sandbox.measure.load import cancel_and_wait
from sandbox.measure.progress import Silent
from sandbox.measure.replication import ReplicaReads, _sample
from sandbox.scenario.context import RunContext
from sandbox.scenario.interrupt import Interrupted
from sandbox.scenario.runner import run
from sandbox.scenario.spec import Phase, RunParams, Scenario
from sandbox.scenario.step import Steps, StepSpec
from sandbox.stack import open_stack
from sandbox.stores.registry import StoreRegistry
from sandbox.stores.replication import ServerLag

BUILT_IN = StoreRegistry.built_in()

ROOT = Path(__file__).resolve().parent.parent


def wait_for_calls(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name == "wait_for":
                found.append(f"{filename}:{node.lineno}")
    return found


def test_no_code_waits_with_asyncio_wait_for() -> None:
    found = [hit for folder in ("sandbox", "bench") for path in sorted((ROOT / folder).rglob("*.py"))
             for hit in wait_for_calls(path.read_text(), str(path.relative_to(ROOT)))]
    assert not found, ("asyncio.wait_for can swallow a cancellation on Python 3.11 (gh-86296); use "
                       f"`async with asyncio.timeout(s):` instead, at: {', '.join(found)}")


def test_the_check_finds_wait_for_however_it_is_imported() -> None:
    source = "import asyncio\nfrom asyncio import wait_for\nasync def f(x):\n" \
             "    await asyncio.wait_for(x, 1)\n    await wait_for(x, 1)\n    await asyncio.sleep(0)\n"
    assert wait_for_calls(source, "m.py") == ["m.py:4", "m.py:5"]


async def test_a_replica_lag_sampler_stops_when_cancelled_as_its_sample_arrives() -> None:
    """The race, made to happen every time: the server's answer and the cancel land in one iteration."""
    answer: asyncio.Future[ServerLag] = asyncio.get_running_loop().create_future()
    asked = asyncio.Event()

    async def server_lag() -> ServerLag:
        asked.set()
        return await answer

    stats = ReplicaReads("redis", "async", "replica")
    sampler = asyncio.create_task(_sample(server_lag, stats))
    await asked.wait()
    answer.set_result(ServerLag(lag_bytes=0, detail="test"))
    sampler.cancel()
    done, _ = await asyncio.wait([sampler], timeout=2)
    assert sampler in done and sampler.cancelled(), "the sampler went on sampling after it was cancelled"


async def test_cancel_and_wait_stops_a_loop_that_missed_its_first_cancel() -> None:
    """A loop that swallows one cancellation, as a client's wait_for can, is cancelled again until it ends."""
    rounds = 0

    async def deaf_once() -> None:
        nonlocal rounds
        missed = False
        while True:
            rounds += 1
            try:
                await asyncio.sleep(0.01)
            except asyncio.CancelledError:
                if missed:
                    raise
                missed = True

    async def failing() -> None:
        raise RuntimeError("gone")

    loop = asyncio.create_task(deaf_once())
    error = asyncio.create_task(failing())
    await asyncio.sleep(0.05)
    async with asyncio.timeout(2):
        await cancel_and_wait([loop, error], every_s=0.05)
    assert loop.cancelled() and rounds > 1
    assert isinstance(error.exception(), RuntimeError)


async def test_a_signal_whose_cancellation_was_swallowed_stops_the_run_after_the_phase(
        monkeypatch: pytest.MonkeyPatch, workspace: Workspace, settings: Settings, tmp_path: Path) -> None:
    ran: list[str] = []

    async def deaf(ctx: RunContext) -> None:
        """A phase whose client library swallows the cancellation the signal sends, then finishes."""
        os.kill(os.getpid(), signal.SIGTERM)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(1)
        ran.append("deaf")

    async def after(ctx: RunContext) -> None:
        ran.append("after")

    steps = Steps({"deaf": StepSpec(deaf), "after": StepSpec(after)})  # the runner runs what it is given
    scenario = Scenario("deaf", "", RunParams(), (Phase("deaf"), Phase("after")))
    with pytest.raises(Interrupted) as stopped:
        await run(scenario, RunParams(connect=False), settings, workspace, "native",
                  open_stack("native", workspace, {}, BUILT_IN), Silent(), steps, tmp_path)
    assert stopped.value.signum == signal.SIGTERM and stopped.value.exit_code == 143
    assert ran == ["deaf"], "the run went on to the next phase after SIGTERM"
    assert stopped.value.ctx is not None and stopped.value.ctx.interrupted == "SIGTERM"
