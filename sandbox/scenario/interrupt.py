"""A run that is told to stop (Ctrl-C, or SIGTERM from `docker stop`, systemd, a CI time-out, Kubernetes)
stops writing, cleans up like any other run, and says what it had done.

Both signals cancel the run's task: the step under way is cut short, the runner's cleanups and teardown
run as they always do (dropping the namespaces unless --keep), and the CLI writes summary.json with
`interrupted` set before exiting 128 + the signal number (130 for SIGINT, 143 for SIGTERM), as shells do.
A second signal is the signal's default action: the process dies at once (`sandbox gc` finds what it left).
On Python 3.11 a client library waiting in asyncio.wait_for can swallow the cancellation (gh-86296, see
tests/test_cancellation.py); the runner then stops at the end of the phase under way instead.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

from sandbox.errors import SandboxError

if TYPE_CHECKING:
    from sandbox.scenario.context import RunContext

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(SandboxError):
    """The run was stopped by a signal; ctx holds what was done (None: stopped before anything was)."""

    def __init__(self, signum: int, ctx: RunContext | None):
        self.signum = signum
        self.ctx = ctx
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


class SignalCatcher:
    """Turns SIGINT and SIGTERM into a cancellation of the current task, remembering which came first."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._installed: list[int] = []
        for sig in SIGNALS:
            try:
                self._loop.add_signal_handler(sig, self._on_signal, sig)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread; Windows
                continue
            self._installed.append(sig)

    def _on_signal(self, sig: int) -> None:
        if self.signum is not None:  # asked twice: stop trying to be tidy
            self.remove()
            signal.raise_signal(sig)
            return
        self.signum = sig
        if self._task is not None:
            self._task.cancel()

    def caught(self, cancelled: BaseException) -> int:
        """Called with a CancelledError: the signal behind it (and the task can go on cleaning up), or
        re-raise it when it was not ours."""
        if self.signum is None:
            raise cancelled
        if self._task is not None:
            self._task.uncancel()
        return self.signum

    def remove(self) -> None:
        for sig in self._installed:
            self._loop.remove_signal_handler(sig)
        self._installed.clear()
