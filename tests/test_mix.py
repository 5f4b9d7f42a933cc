"""Operation mixes and key distributions: requested proportions and shapes, deterministic per seed."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from sandbox.errors import UsageError
from sandbox.workload.distributions import Hotspot, KeyDistribution, Latest, ScrambledZipfian, Zipfian
from sandbox.workload.generator import Workload, WorkloadSpec
from sandbox.workload.mix import parse_mix
from sandbox.workload.model import OrderStatus
from sandbox.workload.operations import NEXT_STATUS, OperationStream

DRAWS = 40_000


def zipf_probability(rank: int, n: int, skew: float) -> float:
    return (1 / (rank + 1) ** skew) / math.fsum(1 / (i + 1) ** skew for i in range(n))


def near(count: int, draws: int, p: float) -> bool:
    """Within 4.5 standard deviations of a binomial's mean: fails by chance about once in 150,000 runs."""
    return abs(count - draws * p) <= 4.5 * math.sqrt(draws * p * (1 - p))


def stream(mix: str, seed: int = 7, loaded: int = 1000, **kw: object) -> OperationStream:
    workload = Workload(WorkloadSpec(seed=seed, orders=loaded))
    return OperationStream(workload, parse_mix(mix, **kw), loaded, seed)  # type: ignore[arg-type]


@pytest.mark.parametrize("skew", [0.5, 0.99])
def test_zipfian_ranks_follow_one_over_rank_to_the_skew(skew: float) -> None:
    n, rng, zipf = 1000, random.Random(1), Zipfian(skew)
    counts = Counter(zipf.rank(rng, n) for _ in range(DRAWS))
    for rank in (0, 1):  # Gray's generator is exact for the two most popular ranks
        assert near(counts[rank], DRAWS, zipf_probability(rank, n, skew)), (rank, counts[rank])
    # and close over the head: the top 10 ranks' share
    top10 = sum(counts[r] for r in range(10)) / DRAWS
    assert top10 == pytest.approx(sum(zipf_probability(r, n, skew) for r in range(10)), rel=0.15)


def test_scrambled_zipfian_spreads_hot_keys_but_keeps_their_popularity() -> None:
    n, rng, sampler = 1000, random.Random(2), ScrambledZipfian(0.99, seed=3)
    counts = Counter(sampler.pick(rng, n) for _ in range(DRAWS))
    hottest = sampler.key_of_rank(0, n)
    assert counts.most_common(1)[0][0] == hottest
    assert hottest != 0  # not simply the first order
    assert len({sampler.key_of_rank(r, n) for r in range(n)}) == n  # a permutation of the keys


def test_latest_prefers_the_newest_keys() -> None:
    n, rng, sampler = 500, random.Random(4), Latest(0.99)
    counts = Counter(sampler.pick(rng, n) for _ in range(DRAWS))
    assert counts.most_common(1)[0][0] == n - 1
    assert near(counts[n - 1], DRAWS, zipf_probability(0, n, 0.99))
    assert sum(c for k, c in counts.items() if k >= n - 50) > 0.5 * DRAWS


def test_hotspot_sends_the_hot_share_to_the_hot_fraction() -> None:
    n, rng, sampler = 1000, random.Random(5), Hotspot(0.1, 0.9)
    picks = [sampler.pick(rng, n) for _ in range(DRAWS)]
    assert near(sum(p < 100 for p in picks), DRAWS, 0.9)
    assert min(picks) == 0 and max(picks) == n - 1


def test_uniform_covers_keys_evenly() -> None:
    n, rng = 20, random.Random(6)
    sampler = KeyDistribution("uniform").sampler(0)
    counts = Counter(sampler.pick(rng, n) for _ in range(DRAWS))
    assert all(near(c, DRAWS, 1 / n) for c in counts.values()) and len(counts) == n


def test_zipfian_constant_grows_with_the_key_space() -> None:
    grown, fresh = Zipfian(0.99), Zipfian(0.99)
    grown.rank(random.Random(0), 100)
    grown.rank(random.Random(0), 5000)
    fresh.rank(random.Random(0), 5000)
    assert grown.zetan == pytest.approx(fresh.zetan, rel=1e-12)


@pytest.mark.parametrize("mix", ["read=50,update=50", "read=95,update=5", "read=95,insert=5",
                                 "scan=95,insert=5", "read=50,rmw=50",
                                 "browse=50,place=20,pay=15,ship=10,cancel=5"])
def test_operation_proportions_within_tolerance(mix: str) -> None:
    ops = stream(mix)
    counts = Counter(ops.next().name for _ in range(20_000))
    wanted = dict(parse_mix(mix).proportions)
    for name, share in wanted.items():
        # Shop transitions fall back to `place` while nothing is pending yet: only at the very start.
        assert counts[name] / 20_000 == pytest.approx(share, abs=0.015), (name, counts)


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    def first(seed: int) -> list[tuple]:
        ops = stream("read=40,update=30,insert=10,scan=10,latest=10", seed=seed, distribution="zipfian")
        return [(o.name, o.index, o.status, o.version, o.span) for o in (ops.next() for _ in range(2000))]

    assert first(11) == first(11)
    assert first(11) != first(12)


def test_updates_walk_the_lifecycle_with_rising_versions() -> None:
    ops = stream("update=100", loaded=50, distribution="zipfian")
    workload = ops.workload
    seen: dict[int, tuple[OrderStatus, int]] = {}
    for _ in range(2000):
        op = ops.next()
        status, version = seen.get(op.index, (workload.order(op.index).status, 1))
        assert (op.status, op.version) == (NEXT_STATUS[status], version + 1)
        seen[op.index] = (op.status, op.version)  # type: ignore[assignment]


def test_shop_transitions_only_start_from_their_source_status_and_settled_orders() -> None:
    ops = stream("place=30,pay=30,ship=20,cancel=20", settle_ops=16)
    placed_at: dict[int, int] = {}
    status: dict[int, OrderStatus] = {}
    for _ in range(5000):
        op = ops.next()
        if op.kind == "place":
            placed_at[op.index] = op.seq
            status[op.index] = OrderStatus.PENDING
            continue
        assert op.seq - placed_at[op.index] >= 16  # the order's insert had time to land
        source = {"pay": (OrderStatus.PENDING,), "ship": (OrderStatus.CONFIRMED,),
                  "cancel": (OrderStatus.PENDING, OrderStatus.CONFIRMED)}[op.name]
        assert status[op.index] in source
        status[op.index] = op.status  # type: ignore[assignment]


def test_reads_do_not_pick_orders_still_being_inserted() -> None:
    ops = stream("read=50,insert=50", loaded=10, settle_ops=32, distribution="latest")
    inserted_at: dict[int, int] = {}
    for _ in range(3000):
        op = ops.next()
        if op.kind == "insert":
            inserted_at[op.index] = op.seq
        elif op.index in inserted_at:
            assert op.seq - inserted_at[op.index] >= 32


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mix": "read=50,fly=50"}, "unknown operation 'fly'"),
    ({"mix": "read=-1"}, "zero or positive"),
    ({"mix": "read"}, "name=share"),
    ({"mix": "read=0"}, "add up to nothing"),
    ({"mix": "read=1", "distribution": "pareto"}, "unknown key distribution"),
    ({"mix": "read=1", "distribution": "zipfian", "skew": 1.2}, "below 1"),
    ({"mix": "{read = }"}, "not a valid TOML table"),
])
def test_bad_mixes_say_what_to_fix(kwargs: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_mix(**kwargs)


def test_toml_table_and_command_line_text_mean_the_same_mix() -> None:
    assert parse_mix({"read": 95, "update": 5}) == parse_mix("read=95,update=5") == parse_mix("{read=95, update=5}")
