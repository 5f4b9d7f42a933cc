"""Rich progress bars for a run: the CLI's implementation of sandbox.measure.progress.Progress."""

from __future__ import annotations

from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from sandbox.report.console import console


class RichBar:
    def __init__(self, progress: Progress, task: TaskID):
        self._progress, self._task = progress, task

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)

    def show(self, completed: int, text: str) -> None:
        self._progress.update(self._task, completed=completed, description=text)


class RichProgress:
    """Bars on the terminal while `with` is open; notes printed above them."""

    def __init__(self) -> None:
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeElapsedColumn(), console=console, transient=False)

    def bar(self, label: str, total: int | None) -> RichBar:
        return RichBar(self._progress, self._progress.add_task(label, total=total))

    def note(self, text: str) -> None:
        console.print(text)

    def __enter__(self) -> RichProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.__exit__(kind, exc, tb)
