"""Placement schemes on the workload's real keys: each scheme against a reference, then movement and balance
for N = 10 and 100 within tolerances derived from theory (stated next to each check).

With K keys placed uniformly on N shards, a shard's count is Binomial(K, 1/N); a key moves with a
fixed probability p, so the moved count is Binomial(K, p). Tolerances are Z = 5 standard deviations
(a false failure about once in 3.5 million per check, once in ~30,000 for the max of 100 shards).
The keys are seeded, so every run sees the same numbers; a biased or broken scheme lands far outside.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

from sandbox.measure.placement import around, grow_and_shrink, moved_fraction_curve
from sandbox.workload import model_file
from sandbox.workload.sharding import (
    SCHEMES,
    Ring,
    hash64,
    jump,
    jump_one,
    key_digests,
    md5_mod,
    model_keys,
    place,
    rendezvous,
)
from tests.helpers import PROJECT

ORDERS = model_file.load(PROJECT / "models" / "orders.toml")


def workload_keys(kind: str, count: int, seed: int) -> list[str]:
    return model_keys(ORDERS, kind, count, seed)


K = 20_000
Z = 5.0
VNODES = 100


@pytest.fixture(scope="module", params=["order_id", "customer_id"])
def digests(request: pytest.FixtureRequest) -> np.ndarray:
    return key_digests(workload_keys(request.param, K, seed=12))


def binomial_band(k: int, p: float) -> tuple[float, float]:
    sd = math.sqrt(k * p * (1 - p))
    return k * p - Z * sd, k * p + Z * sd


# --- each scheme against its definition -----------------------------------------------------------------

def test_md5_mod_is_the_playbooks_formula() -> None:
    keys = workload_keys("order_id", 500, seed=3)
    expected = [int(hashlib.md5(k.encode()).hexdigest()[:8], 16) % 7 for k in keys]
    assert md5_mod(key_digests(keys), 7).tolist() == expected


def test_jump_matches_published_values() -> None:
    # Values other implementations publish for the paper's C++ code (ClickHouse's
    # 00580_consistent_hashing_functions test and the jump-consistent-hash Rust crate's docs).
    cases = [(1, 1, 0), (42, 57, 43), (256, 1024, 520), (3735883980, 1, 0), (3735883980, 666, 361),
             (16045690984833335023, 255, 237), (0, 60, 0), (1, 60, 55), (2, 60, 46)]
    for key, n, bucket in cases:
        assert jump_one(key, n) == bucket
        assert jump(np.array([key], dtype=np.uint64), n).tolist() == [bucket]


def test_vectorised_jump_equals_the_papers_loop() -> None:
    h = hash64(key_digests(workload_keys("order_id", 2000, seed=4)))
    for n in (1, 2, 10, 999):
        assert jump(h, n).tolist() == [jump_one(int(x), n) for x in h]


def test_rendezvous_is_the_argmax_and_stable_per_shard() -> None:
    h = hash64(key_digests(workload_keys("customer_id", 3000, seed=5)))
    at_20, at_21 = rendezvous(h, 20), rendezvous(h, 21)
    # A key changes shard only to the new one: shard i's scores do not depend on N.
    assert np.all((at_20 == at_21) | (at_21 == 20))
    assert set(at_20.tolist()) == set(range(20))


def test_ring_wraps_and_owns_points() -> None:
    ring = Ring(5, vnodes=3)
    position, owner = ring.points
    assert np.all(np.diff(position.astype(np.float64)) >= 0) and sorted(np.bincount(owner)) == [3] * 5
    # A key above the last point belongs to the first point's shard; a key on a point to that point's shard.
    top = np.array([np.iinfo(np.uint64).max], dtype=np.uint64)
    assert ring.place(top).tolist() == [owner[0]]
    assert ring.place(position[2:3]).tolist() == [owner[2]]


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown scheme"):
        place("modulo", key_digests(["a"]), 3)


# --- movement ---------------------------------------------------------------------------------------------

def expected_moved(scheme: str, n_from: int, n_to: int) -> tuple[float, float]:
    """Band for the moved count under one scheme, from its theory."""
    if scheme == "md5-mod":
        # A key keeps its shard iff x mod N == x mod M, i.e. x mod N*M < min(N, M): probability 1/max(N, M).
        return binomial_band(K, 1 - 1 / max(n_from, n_to))
    p = 1 / max(n_from, n_to)  # the new shard's share, or the removed shard's
    if scheme != "ring":
        return binomial_band(K, p)
    # The ring's changed shard owns VNODES of the N*VNODES arcs: its share is Beta(v, (N-1)v)-distributed
    # around p, variance p(1-p)/(N*v + 1), on top of the keys' own binomial spread.
    n = max(n_from, n_to)
    sd = math.sqrt(K * p * (1 - p) + (K ** 2) * p * (1 - p) / (n * VNODES + 1))
    return K * p - Z * sd, K * p + Z * sd


@pytest.mark.parametrize("n", [10, 100])
@pytest.mark.parametrize("scheme", SCHEMES)
def test_moved_keys_within_theory(digests: np.ndarray, scheme: str, n: int) -> None:
    grow, shrink = grow_and_shrink(scheme, digests, n, VNODES)
    for m in (grow, shrink):
        low, high = expected_moved(scheme, m.n_from, m.n_to)
        assert low <= m.moved <= high, f"{scheme} {m.n_from}->{m.n_to}: moved {m.moved}, theory {low:.0f}..{high:.0f}"
        # Consistent schemes move only the changed shard's keys; md5-mod moves keys between old shards too.
        assert m.only_changed_shard is (scheme != "md5-mod")


def test_curve_separates_modulo_from_consistent(digests: np.ndarray) -> None:
    curve = moved_fraction_curve(digests, [10, 100], VNODES)
    for scheme in ("jump", "rendezvous"):
        for n, fraction in zip([10, 100], curve[scheme], strict=True):
            low, high = binomial_band(K, 1 / (n + 1))
            assert low <= fraction * K <= high
    assert curve["md5-mod"][1] > 0.95  # N/(N+1) = 0.990 at N = 100


def test_rendezvous_shortcut_equals_full_scoring(digests: np.ndarray) -> None:
    h = hash64(digests)
    for placed, n in zip(around("rendezvous", digests, 10), (9, 10, 11), strict=True):
        assert np.array_equal(placed, rendezvous(h, n))


# --- balance ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [10, 100])
@pytest.mark.parametrize("scheme", ["md5-mod", "jump", "rendezvous"])
def test_uniform_schemes_balance_like_a_binomial(digests: np.ndarray, scheme: str, n: int) -> None:
    counts = np.bincount(place(scheme, digests, n), minlength=n)
    low, high = binomial_band(K, 1 / n)
    assert low <= counts.min() and counts.max() <= high, f"{scheme} N={n}: {counts.min()}..{counts.max()}"


@pytest.mark.parametrize("n", [10, 100])
def test_ring_balance_follows_its_vnodes(digests: np.ndarray, n: int) -> None:
    # Shard shares are Beta(v, (N-1)v): relative spread sqrt((N-1)/(N*v+1)) plus the keys' own spread.
    counts = np.bincount(Ring(n, VNODES).place(hash64(digests)), minlength=n)
    mean = K / n
    rel_sd = math.sqrt((n - 1) / (n * VNODES + 1) + n / K)
    assert counts.max() <= mean * (1 + Z * rel_sd) and counts.min() >= mean * (1 - Z * rel_sd)
    # And one point per shard is visibly worse: the spread grows like 1/sqrt(vnodes).
    coarse = np.bincount(Ring(n, 1).place(hash64(digests)), minlength=n)
    assert coarse.std() > 3 * counts.std()
