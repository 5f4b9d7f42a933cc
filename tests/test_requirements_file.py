"""Requirements files: every shipped one is valid against its model; each mistake is one line naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.workload.requirements import ModelError, load, loads

ROOT = Path(__file__).parent.parent
GOOD = '''model = "orders"
mix = "shop"
budget = "500 USD/month"

[load]
peak_rate = 400
data_size = 2000

[latency.get_order]
target = "p99 <= 20ms"
rate = 200

[durability]
lost_acknowledged = "none"

[consistency]
read_your_writes = true
'''

# (what is changed, replacement, words the message must hold, the line it must name)
BROKEN = [
    ('[latency.get_order]', '[latency.get_ordr]', ["pattern 'get_ordr'", "does not have", "choose from"], 9),
    ('mix = "shop"', 'mix = "shopping"', ["mix 'shopping' is not in model orders", "choose from"], 2),
    ('model = "orders"', 'model = "ordres"', ["unknown model 'ordres'"], 1),
    ('target = "p99 <= 20ms"', 'target = "p99 under 20ms"', ["expected a percentile <= a time"], 10),
    ('rate = 200', 'rate = -5', ["latency.get_order.rate", "greater than 0"], 11),
    ('budget = "500 USD/month"', 'budget = "lots"', ["budget 'lots'", "500 USD/month"], 3),
    ('lost_acknowledged = "none"', 'lost_acknowledged = "some"', ["durability.lost_acknowledged"], 14),
    ('read_your_writes = true', 'read_your_write = true', ["unknown key 'read_your_write'", "no_lost_updates"], 17),
    ('data_size = 2000', 'data_sise = 2000', ["unknown key 'data_sise'", "expected data_size, peak_rate"], 7),
    ('[load]', '[load', ["not valid TOML"], 5),
]


@pytest.mark.parametrize("path", sorted((ROOT / "requirements").glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_requirements_file_is_valid(path: Path) -> None:
    req, model = load(path, ROOT)
    assert model.name == req.model and req.latency, path
    assert path.stem == model.name  # one example per shipped model


def test_one_example_per_shipped_model() -> None:
    shipped = {p.stem for p in (ROOT / "models").glob("*.toml")}
    assert {p.stem for p in (ROOT / "requirements").glob("*.toml")} == shipped


def test_the_good_file_loads() -> None:
    req, _ = loads(GOOD, Path("r.toml"), ROOT)
    target = req.latency["get_order"]
    assert (target.percentile, target.limit_ms, target.slo) == (99.0, 20.0, "p99=20ms")
    assert req.durability is not None and req.durability.bound == 0 and req.consistency.read_your_writes


@pytest.mark.parametrize("old,new,words,line", BROKEN, ids=[b[1][:24] for b in BROKEN])
def test_a_mistake_is_one_line_naming_file_and_line(old: str, new: str, words: list[str], line: int) -> None:
    assert old in GOOD
    with pytest.raises(ModelError) as caught:
        loads(GOOD.replace(old, new), Path("req.toml"), ROOT)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"req.toml:{line}: "), message
    for word in words:
        assert word in message, message
