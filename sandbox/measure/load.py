"""Load drivers: how operations are issued over time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


async def closed_loop(work: Iterable[T], do: Callable[[T], Awaitable[object]], concurrency: int) -> float:
    """`concurrency` workers take the next item as soon as their last one is done; returns elapsed seconds.

    Workers share one iterator: next() never awaits, so no item is taken twice.
    """
    it = iter(work)

    async def worker() -> None:
        for item in it:
            await do(item)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start
