"""A consumer group served by a child process (worker.py), started, SIGKILLed and replaced by the fault step;
what it reports on stdout goes into the run's ledger."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from typing import Any

from sandbox.measure.event_ledger import Ledger

GROUP = "read-model"
KILL_AFTER = "order.confirmed"  # the read model's one effect


class ChildGroup:
    def __init__(self, spec: dict[str, Any], ledger: Ledger):
        self.spec, self.ledger = spec, ledger
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self.generation = 0
        self.received = self.done = 0  # the current child's
        self.applied_by: list[int] = []  # deliveries each child applied before it ended
        self.errors: list[str] = []  # what its handler failed with
        self.last_done = ""  # the type of the event it applied last
        self.kill_after: int | None = None  # kill_mid_batch: SIGKILL once this many are applied, after an effect
        self.killed = asyncio.Event()

    @property
    def busy(self) -> int:
        """Deliveries the current child received and has not applied yet."""
        return self.received - self.done if self.proc is not None else 0

    async def start(self) -> None:
        self.generation += 1
        self.received = self.done = 0
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "sandbox.experiments.events.worker", stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps({**self.spec, "member": f"{GROUP}-child{self.generation}"}) + "\n").encode())
        await self.proc.stdin.drain()
        async with asyncio.timeout(30):
            ready = await self.proc.stdout.readline()
        if b"ready" not in ready:
            raise RuntimeError("the consumer process did not start")
        self._reader = asyncio.create_task(self._read(self.proc))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            msg = json.loads(line)
            if "done" in msg:  # (a done line carries its received time too: asked first)
                self.done += 1
                self.last_done = msg.get("type", "")
                if self.last_done == KILL_AFTER:  # the worker waits for a line before it acks an effect
                    if self.kill_after is not None and self.done >= self.kill_after:
                        proc.send_signal(signal.SIGKILL)  # between that effect and its ack
                        self.kill_after = None
                        self.killed.set()
                    elif proc.stdin is not None and not proc.stdin.is_closing():
                        proc.stdin.write(b"go\n")
                self.ledger.done(GROUP, msg["done"], msg["key"], int(msg["seq"]), msg["t"], msg["received"],
                                 msg["at"])
            elif "failed" in msg:
                self.errors.append(msg["error"])
            elif "received" in msg:
                self.received += 1
                self.ledger.received(GROUP, msg["received"], msg["t"], msg["at"])

    async def kill_mid_batch(self, after: int, timeout_s: float) -> int:
        """SIGKILL the child right after it applied an effect (an order.confirmed) it has not acked yet, once it
        applied `after` deliveries: the reader sends the signal the moment that line arrives. Deliveries it applied."""
        self.killed.clear()
        self.kill_after = after
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self.killed.wait()
        self.kill_after = None
        return await self.kill()

    async def kill(self) -> int:
        """SIGKILL the child (mid-batch: what it fetched and did not ack comes again); deliveries it applied."""
        if self.proc is None:
            return 0
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        if self._reader is not None:
            await self._reader  # its last lines
        self.applied_by.append(self.done)
        self.proc = None
        return self.applied_by[-1]

    async def stop(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                await self.kill()
