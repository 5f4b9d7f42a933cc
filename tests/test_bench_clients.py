"""bench/clients.py: each client library writes the model store's documents and the model store finds them all;
the pure parts (pool size in the URL, what counts as a win). Sizes are tiny: no timing is judged here."""

from __future__ import annotations

import pytest

from bench.clients import CLIENTS, _wins, bench, with_pool
from bench.common import orders_data
from bench.repeats import Samples
from sandbox.config import Settings


def test_pool_size_is_set_once_and_other_options_kept() -> None:
    assert with_pool("mongodb://127.0.0.1:27117", 8) == "mongodb://127.0.0.1:27117?maxPoolSize=8"
    assert with_pool("mongodb://u:p@h:1/db?w=1&maxpoolsize=50", 8) == "mongodb://u:p@h:1/db?w=1&maxPoolSize=8"


@pytest.mark.parametrize("alt, current, wins", [
    ([120.0, 130.0, 125.0], [100.0, 105.0, 108.0], True),
    ([110.0, 120.0, 100.0], [100.0, 105.0, 108.0], False),  # one repeat of the alternative was not faster
    ([109.0, 110.0, 111.0], [100.0, 101.0, 102.0], False),  # every repeat faster, but the median by under 10%
    ([], [100.0], False),
])
def test_a_win_is_every_repeat_faster(alt: list[float], current: list[float], wins: bool) -> None:
    assert _wins(Samples(alt), Samples(current)) is wins


async def test_every_client_writes_what_the_adapter_reads_back(live: Settings) -> None:
    # bench() itself counts each side's orders through the adapter and stops if one is missing;
    # a bulk of 1,001 orders is two requests, the second of one order.
    text = await bench(live, orders_data(5), n_write=12, n_bulk=1001, repeats=1)
    rows = [line for line in text.splitlines() if line.startswith(("| mongo |", "| elastic |"))]
    assert len(rows) == 2 * sum(len(clients) for clients in CLIENTS.values())
    for store, clients in CLIENTS.items():
        for kind in ("write", "bulk"):
            for client in clients:
                row = next(r for r in rows if r.startswith(f"| {store} | {kind} | {client}"))
                rate = row.split(" | ")[4]
                assert rate != "-" and float(rate.replace(",", "")) > 0, row
