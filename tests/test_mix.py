"""Key distributions (requested shapes, deterministic per seed) and choosing a model's mix."""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from sandbox.errors import UsageError
from sandbox.workload.distributions import Hotspot, KeyDistribution, Latest, ScrambledZipfian, Zipfian
from sandbox.workload.mix import key_distribution, resolve_mix
from sandbox.workload.model_file import load
from sandbox.workload.schema import Model
from sandbox.workload.toml_lines import ModelError

MODELS = Path(__file__).parent.parent / "models"

DRAWS = 40_000


def zipf_probability(rank: int, n: int, skew: float) -> float:
    return (1 / (rank + 1) ** skew) / math.fsum(1 / (i + 1) ** skew for i in range(n))


def near(count: int, draws: int, p: float) -> bool:
    """Within 4.5 standard deviations of a binomial's mean: fails by chance about once in 150,000 runs."""
    return abs(count - draws * p) <= 4.5 * math.sqrt(draws * p * (1 - p))


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


def orders() -> Model:
    return load(MODELS / "orders.toml")


@pytest.mark.parametrize(("mix", "message"), [
    ("fly", "model orders has no mix 'fly': choose with -p mix=NAME from ycsb-a"),
    ("get_order=50,fly=50", "no pattern 'fly'; patterns: insert_order"),
    ("get_order=-1", "zero or positive"),
    ("get_order=0", "add up to nothing"),
    ("{get_order = }", "not a valid TOML table"),
    ("update_status=50,rmw_status=50", "rmw_status reads the version it sets"),
])
def test_a_mix_the_model_does_not_have_says_what_to_choose(mix: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        resolve_mix(orders(), mix)


def test_a_mix_is_named_or_given_as_pattern_shares_in_toml_or_on_the_command_line() -> None:
    model = orders()
    assert resolve_mix(model, "ycsb-b") is model.mixes["ycsb-b"]
    assert resolve_mix(model, None) is model.mixes["ycsb-a"]  # the model's first
    forms = ({"get_order": 95, "update_status": 5}, "get_order=95,update_status=5", "{get_order=95, update_status=5}")
    given = [resolve_mix(model, m).weights for m in forms]
    assert given[0] == given[1] == given[2] == model.mixes["ycsb-b"].weights


@pytest.mark.parametrize(("distribution", "skew", "message"), [
    ("pareto", 0.99, "unknown key distribution"), ("zipfian", 1.2, "below 1")])
def test_a_bad_key_distribution_says_what_to_fix(distribution: str, skew: float, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        key_distribution(distribution, skew)


def test_a_read_modify_write_with_another_transition_of_its_entity_is_refused_in_a_model_file(tmp_path) -> None:
    text = (MODELS / "orders.toml").read_text() + "\n[mix.both]\nupdate_status = 1\nrmw_status = 1\n"
    (tmp_path / "m.toml").write_text(text)
    with pytest.raises(ModelError, match=r"m\.toml:\d+: mix both: rmw_status reads the version it sets"):
        load(tmp_path / "m.toml")
