"""Model files: every shipped one is valid; every kind of mistake is one line naming file, line and fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.workload.model_file import ModelError, available, load

ROOT = Path(__file__).parent.parent
GOOD = '''name = "shop"
[entity.item]
role = "reference"
count = 5
[entity.item.fields]
id = { type = "keyword", gen = "template", template = "i{index}" }
price = { type = "decimal", scale = 2, gen = "uniform", min = "1.00", max = "9.00" }

[entity.sale]
role = "root"
[entity.sale.fields]
id = { type = "id", gen = "uuid" }
item_id = { ref = "item" }
at = { type = "timestamp", gen = "spaced", spacing_ms = 10 }
lines = { children = "line", count = 2 }
total = { type = "decimal", scale = 2, derive = "sum(lines.amount)" }

[entity.line]
role = "child"
[entity.line.fields]
sale_id = { parent = true }
amount = { type = "decimal", scale = 2, gen = "uniform", min = "1.00", max = "2.00" }

[pattern.by_item]
kind = "find"
where = ["item_id"]

[mix.m]
by_item = 1
'''

# (what is changed, replacement, words the message must hold, the line it must name)
BROKEN = [
    ('type = "decimal", scale = 2, gen = "uniform", min = "1.00", max = "9.00"',
     'type = "money", gen = "uniform", min = 1, max = 9', ["unknown type 'money'", "choose from"], 7),
    ('item_id = { ref = "item" }', 'item_id = { ref = "itme" }', ["unknown entity 'itme'"], 13),
    ('lines = { children = "line", count = 2 }', 'lines = { children = "line", count = { gen = "uniform", min = 3, '
     'max = 1 } }', ["min 3 is above max 1"], 15),
    ('amount = { type = "decimal", scale = 2, gen = "uniform", min = "1.00", max = "2.00" }',
     'amount = { type = "decimal", scale = 2, gen = "normal", mean = 1, stddev = 0 }', ["stddev must be above 0"], 22),
    ('where = ["item_id"]', 'where = ["item"]', ["sale has no field 'item'"], 26),
    ('by_item = 1', 'by_itme = 1', ["unknown pattern 'by_itme'"], 29),
    ('total = { type = "decimal", scale = 2, derive = "sum(lines.amount)" }',
     'total = { type = "decimal", scale = 2, derive = "sum(lines.amout)" }', ["lines.amout is not"], 16),
    ('sale_id = { parent = true }', 'sale_id = { type = "id", gen = "uuid" }', ["needs one field with parent = true"],
     18),
    ('[mix.m]', '[variant.v]\nstore = "oracle"\n[mix.m]', ["unknown store 'oracle'"], 29),
    ('role = "child"', 'role = "child"\n[entity.line.fields.x]\n', ["expected"], 0),
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shop.toml"
    path.write_text(text)
    return path


def test_every_shipped_model_is_valid() -> None:
    names = {p.stem for p in available(ROOT)}
    assert {"orders", "telemetry", "social", "bookings"} <= names
    for path in available(ROOT):
        model = load(path)
        assert model.patterns and model.mixes, path


def test_the_good_file_loads(tmp_path: Path) -> None:
    model = load(write(tmp_path, GOOD), known_stores={"postgres", "mongo"})
    assert model.root == "sale" and model.entity("line").parent_key is not None


@pytest.mark.parametrize(("old", "new", "words", "line"), BROKEN[:-1])
def test_a_mistake_names_file_line_and_what_to_change(tmp_path: Path, old: str, new: str, words: list[str],
                                                      line: int) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ModelError) as caught:
        load(path, known_stores={"postgres", "mongo"})
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    assert all(w in message for w in words), message
    assert "\n" not in message


def test_a_cycle_of_owned_relations_is_named(tmp_path: Path) -> None:
    text = GOOD.replace('amount = { type', 'back = { children = "line", count = 1 }\namount = { type')
    with pytest.raises(ModelError, match=r"line -> line|owned by sale already|cycle"):
        load(write(tmp_path, text))


def test_the_command_line_says_it_in_one_line_and_exits_2(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('ref = "item"', 'ref = "itme"'))
    done = subprocess.run([sys.executable, "-m", "sandbox", "model", "show", str(path)], capture_output=True,
                          text=True, cwd=ROOT)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and f"{path}:13:" in done.stderr and "Traceback" not in done.stderr
