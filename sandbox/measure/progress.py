"""Live progress as the layers below report/ see it: a small protocol, drawn by whoever runs them.

The CLI passes rich bars (sandbox.report.progress); a worker process passes SILENT.
Nothing here knows how progress is drawn, so nothing below report/ imports rich.
"""

from __future__ import annotations

from typing import Protocol


class Bar(Protocol):
    """One line of progress: a phase against one store, or one strategy."""

    def advance(self, n: int = 1) -> None: ...

    def show(self, completed: int, text: str) -> None:
        """Set the count done and the line's text (the timeline's per-second rate and p99)."""


class Progress(Protocol):
    def bar(self, label: str, total: int | None) -> Bar:
        """A new line; total None when the phase is limited by time, not by count."""

    def note(self, text: str) -> None:
        """One line of text above the bars (the run's id and seed)."""


class _SilentBar:
    def advance(self, n: int = 1) -> None:
        pass

    def show(self, completed: int, text: str) -> None:
        pass


class Silent:
    """Progress nobody watches."""

    def bar(self, label: str, total: int | None) -> Bar:
        return _SilentBar()

    def note(self, text: str) -> None:
        pass


SILENT = Silent()
