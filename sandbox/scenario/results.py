"""The results a run's experiments keep, one typed value per result class (`ctx.results.get(MixRun)`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class Results:
    """At most one value per result class; the experiment that owns the class names it in summary.json."""

    def __init__(self) -> None:
        self._values: dict[type, Any] = {}

    def get(self, cls: type[T]) -> T | None:
        return self._values.get(cls)

    def ensure(self, cls: type[T], make: Callable[[], T] | None = None) -> T:
        """The run's value of this class, created (by `make`, else `cls()`) the first time a step asks."""
        if cls not in self._values:
            self._values[cls] = make() if make is not None else cls()
        value: T = self._values[cls]
        return value

    def put(self, value: Any) -> None:
        """Keep this value as the run's one of its class (a step that builds its result whole)."""
        self._values[type(value)] = value

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values.values())

    def __bool__(self) -> bool:
        return bool(self._values)
