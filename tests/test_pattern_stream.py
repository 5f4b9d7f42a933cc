"""The seeded operation stream of a model's mix (sandbox/workload/pattern_stream.py): pure logic."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.distributions import KeyDistribution
from sandbox.workload.model_file import load
from sandbox.workload.pattern_stream import PatternStream

MODELS = Path(__file__).parent.parent / "models"


def stream(model: str, mix: str, loaded: int = 500, seed: int = 3) -> PatternStream:
    m = load(MODELS / f"{model}.toml")
    return PatternStream(Dataset(m, seed, Sizes(loaded)), m.mixes[mix], loaded, seed, settle_ops=16)


def take(s: PatternStream, n: int) -> list:
    return [s.next() for _ in range(n)]


def test_the_same_seed_gives_the_same_operations_and_shares_follow_the_mix() -> None:
    a, b = take(stream("orders", "ycsb-a"), 2000), take(stream("orders", "ycsb-a"), 2000)
    assert [(o.pattern.name, o.params) for o in a] == [(o.pattern.name, o.params) for o in b]
    shares = Counter(o.pattern.name for o in a)
    assert abs(shares["get_order"] - 1000) < 120 and abs(shares["update_status"] - 1000) < 120


def test_transitions_of_one_instance_carry_rising_versions_and_follow_next() -> None:
    s = stream("orders", "ycsb-a", loaded=5)
    nxt = s.model.patterns["update_status"].next
    last: dict = {}
    for op in take(s, 400):
        if op.pattern.kind != "transition":
            continue
        before = last.get(op.params.key)
        if before is not None:
            assert op.params.version == before[1] + 1 and op.params.state == nxt[before[0]]
        last[op.params.key] = (op.params.state, op.params.version)
    assert last


def test_the_shops_transitions_start_from_their_source_states() -> None:
    s = stream("orders", "shop")
    ops = take(s, 3000)
    inserted = {o.params.instance["id"]: o.params.instance["status"] for o in ops if o.pattern.kind == "insert"}
    assert inserted and set(inserted.values()) == {"pending"}  # place_order sets pending
    states = dict(inserted)
    for o in ops:
        if o.pattern.name in ("pay", "ship", "cancel") and o.params.key in states:
            assert states[o.params.key] in o.pattern.sources, (o.pattern.name, states[o.params.key])
            states[o.params.key] = o.params.state
        if o.pattern.kind == "insert":
            assert o.then is not None and o.then.params.targets == tuple(
                (i["product_id"], i["quantity"]) for i in o.params.instance["items"])


def test_reservations_take_a_seat_of_their_own_slot() -> None:
    for op in take(stream("bookings", "rush"), 500):
        if op.pattern.name == "reserve":
            assert op.then is not None and op.then.params.targets == ((op.params.instance["slot_id"], 1),)


def test_reads_pick_only_settled_instances() -> None:
    s = stream("orders", "ycsb-d", loaded=50)
    keys_inserted: list = []
    for op in take(s, 3000):
        if op.pattern.kind == "insert":
            keys_inserted.append((op.seq, op.params.instance["id"]))
        elif op.pattern.name == "get_order":
            recent = {k for seq, k in keys_inserted if seq > op.seq - s.settle_ops}
            assert op.params.key not in recent


@pytest.mark.parametrize("mix", ["ycsb-a", "ycsb-b", "ycsb-c", "ycsb-d", "ycsb-e", "ycsb-f", "shop", "browse"])
def test_operation_shares_follow_each_mix_of_orders(mix: str) -> None:
    s = stream("orders", mix, loaded=1000)
    counts = Counter(o.pattern.name for o in take(s, 12_000))
    for name, share in s.mix.weights:
        # the shop's pay/ship/cancel fall back to placing an order while nothing is pending: only at the start
        assert counts[name] / 12_000 == pytest.approx(share, abs=0.02), (name, counts)  # 4.4 sd at 50%


def test_a_read_modify_write_only_picks_the_instance_its_client_reads() -> None:
    s = stream("orders", "ycsb-f", loaded=50)
    rmw = [o for o in take(s, 2000) if o.pattern.name == "rmw_status"]
    assert rmw and all(o.params.state is None and o.params.version == 0 and o.params.key for o in rmw)
    assert all(o.params.key == s.ds.root(o.index)["id"] for o in rmw[:50])
    assert not s.state  # the stream keeps no state of its own for them: the client reads it
    hottest = Counter(o.params.key for o in rmw).most_common(1)[0][1]
    assert hottest > len(rmw) / 20  # zipfian: a few hot keys take many of them


def test_one_distribution_for_the_whole_mix_replaces_each_patterns_own() -> None:
    m = load(MODELS / "orders.toml")
    ds = Dataset(m, 3, Sizes(1000))
    latest = PatternStream(ds, m.mixes["ycsb-c"], 1000, 3, distribution=KeyDistribution("latest"))
    newest = {ds.root(i)["id"] for i in range(950, 1000)}
    keys = [o.params.key for o in take(latest, 1000)]
    assert sum(k in newest for k in keys) > 500  # 5% of the keys, most of the reads
    zipf = [o.params.key for o in take(stream("orders", "ycsb-c", loaded=1000), 1000)]
    assert sum(k in newest for k in zipf) < 200
