"""bench/common.py `server_calls`: what a bench side asked the real server per unit, by the server's own counter.
A write of the orders model is one statement / command; a side that writes twice per unit shows 2, so the count
can tell unlike work apart. Tiny sizes; nothing is timed here."""

from __future__ import annotations

from typing import Any

import pytest

from bench.common import bare_rate, close_store, open_store, orders_data, run_id, server_calls
from sandbox.config import Settings

N = 40


@pytest.mark.parametrize("name", ["postgres", "redis"])
async def test_a_side_s_server_calls_per_unit_come_from_the_server(live: Settings, name: str) -> None:
    data = orders_data(3)
    store, _ = await open_store(name, live, run_id("t"), 2, data)
    try:
        orders = list(data.roots(0, 2 * N + 2))
        # First use, on both connections: prepared statements, type introspection, the loaded script, the hello.
        await bare_rate(orders[2 * N:], store.write, 2)

        async def twice(order: Any) -> None:
            await store.write(order)
            await store.write(orders[N + orders.index(order)])

        once = await server_calls(store, N // 2, bare_rate(orders[:N // 2], store.write, 2))
        double = await server_calls(store, N // 2, bare_rate(orders[N // 2:N], twice, 2))
    finally:
        await close_store(store)
    per_write = 1.0 if name == "postgres" else None  # Redis counts the script's own commands as calls too
    assert once.calls_per_unit is not None and double.calls_per_unit is not None, (once, double)
    if per_write is not None:
        assert once.calls_per_unit == per_write, once
    assert double.calls_per_unit == 2 * once.calls_per_unit, (once, double)
