"""The footprint's projection and monthly cost: the `project` text read, a price table charged in Decimal, bad
input refused on the command line (one line, exit 2, nothing written), and one real run whose summary.json,
report.html (headless Chromium) and `sandbox recommend` carry the same cost."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sandbox.errors import UsageError
from sandbox.experiments.footprint import prices
from sandbox.experiments.footprint.project import parse, project
from tests.helpers import assert_usage_error, sandbox
from tests.test_report import browser, render  # noqa: F401  # the headless Chromium fixture and page reader

OWN_PRICES = """date = 2026-12-01
currency = "EUR"
gb_bytes = 1000000000
[storage]
fast = "0.11"
[memory]
ram = 3.7
[tiers]
disk = "storage.fast"
memory = "memory.ram"
"""


def test_the_project_text_is_read_with_its_units() -> None:
    p = parse("entities=100M, growth=60M/year, retention=3 years")
    assert (p.entities, p.growth_per_month, p.retention_months) == (100_000_000, 5_000_000, 36)
    assert p.horizon_entities == 100_000_000 + 5_000_000 * 36
    assert parse("entities=2500").horizon_entities == 2500 and parse("entities=1.5k").entities == 1500


def test_the_cost_is_the_fit_times_the_price_in_decimal(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(OWN_PRICES)
    table = prices.load(str(tmp_path / "p.toml"))
    stores = {"a": {"fit": {"fixed_bytes": 123_456, "per_entity_bytes": 1105.4}, "held_in": "disk",
                        "log_bytes_per_write": 1747.0, "server": "x"},
              "b": {"fit": {"fixed_bytes": 0, "per_entity_bytes": 1895.0}, "held_in": "memory",
                    "log_bytes_per_write": None, "server": "y"},
              "c": {"fit": None, "server": "z"}}
    out = project(parse("entities=7M,growth=1M/month,retention=12 months"), table, stores)
    for name, per_gb in (("a", Decimal("0.11")), ("b", Decimal("3.7"))):
        fit = stores[name]["fit"]
        held = round(fit["fixed_bytes"] + fit["per_entity_bytes"] * 19_000_000)  # 7M + 12 x 1M
        assert out["stores"][name]["bytes_at_horizon"] == held
        assert Decimal(out["stores"][name]["monthly_cost_at_horizon"]) == \
            (Decimal(held) * per_gb / 10**9).quantize(Decimal("0.01"))
    assert out["stores"]["a"]["log_bytes_per_month"] == 1747 * 1_000_000
    assert "c" in out["not_projected"] and out["currency"] == "EUR" and out["prices"]["date"] == "2026-12-01"


@pytest.mark.parametrize(("text", "words"), [
    ("100M", "is not entities=, growth= or retention="),
    ("entities=lots", "entities='lots' is not a count"),
    ("entities=1.5", "must come to a whole number"),
    ("growth=5M/month,retention=3 years", "entities= is missing"),
    ("entities=1M,growth=5M", "needs a period"),
    ("entities=1M,growth=5M/month", "growth needs retention="),
    ("entities=1M,retention=forever", "is not a duration"),
])
def test_bad_project_text_names_its_part(text: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        parse(text)


@pytest.mark.parametrize(("change", "words"), [
    (("storage.fast", "storage.gold"), "tiers.disk = 'storage.gold' names no price (prices given: storage.fast"),
    (("date = 2026-12-01", ""), "needs date = YYYY-MM-DD"),
    (("gb_bytes = 1000000000", "gb_bytes = 1024"), "gb_bytes must be 1000000000 (GB) or 1073741824"),
    (("[tiers]", "[tier]"), "[tiers] must give disk ="),
    (("ram = 3.7", "ram = cheap"), "not TOML"),
])
def test_a_bad_price_table_names_what_is_wrong(tmp_path: Path, change: tuple[str, str], words: str) -> None:
    with pytest.raises(UsageError) as caught:
        prices.load(_prices_file(tmp_path, OWN_PRICES.replace(*change)))
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_an_unreadable_price_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"nowhere\.toml: cannot read it"):
        prices.load(str(tmp_path / "nowhere.toml"))


def test_the_shipped_table_is_dated_and_prices_both_kinds_of_held_data() -> None:
    table = prices.load(None)
    assert table.date and set(table.tiers) == {"disk", "memory"}
    assert all(isinstance(p, Decimal) and p > 0 for _, p in table.tiers.values())


def _prices_file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "prices.toml"
    path.write_text(body)
    return str(path)


@pytest.mark.parametrize(("extra", "words"), [
    (["-p", "project=entities=100M,growth=5M"], ("project: growth='5M' needs a period",)),
    (["-p", "prices=/nowhere/p.toml"], ("prices are for a projection",)),
    (["-p", "project=entities=1M", "-p", "prices={bad_price}"], ("storage.fast must be a price of 0 or more",)),
])
def test_bad_project_or_prices_on_the_command_line(tmp_path: Path, extra: list[str], words: tuple[str, ...]) -> None:
    bad_price = _prices_file(tmp_path, OWN_PRICES.replace('"0.11"', '"-1"'))
    results = tmp_path / "results"
    proc = sandbox("run", "footprint", *(e.format(bad_price=bad_price) for e in extra),
                   env={"SANDBOX_RESULTS_DIR": str(results)})
    assert_usage_error(proc, *words)
    assert not results.exists()  # refused before anything connected or was written


@pytest.mark.stores("postgres", "redis")
def test_a_projected_run_shows_one_cost_in_summary_report_and_recommend(tmp_path: Path, browser: Any) -> None:  # noqa: F811
    results = tmp_path / "results"
    own = _prices_file(tmp_path, OWN_PRICES)
    proc = sandbox("run", "footprint", "--stores", "postgres,redis", "-p", "sizes=[200,500,1000]", "-p",
                   "project=entities=10M,growth=1M/month,retention=2 years", "-p", f"prices={own}",
                   env={"SANDBOX_RESULTS_DIR": str(results), "COLUMNS": "160"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    [folder] = results.glob("*-footprint")
    section = json.loads((folder / "summary.json").read_text())["footprint"]
    p = section["projection"]
    assert p["horizon_entities"] == 34_000_000 and set(p["stores"]) == {"postgres", "redis"}
    assert p["stores"]["redis"]["held_in"] == "memory" and p["stores"]["postgres"]["held_in"] == "disk"
    for name, s in p["stores"].items():
        fit = section["stores"][name]["fit"]
        assert s["bytes_at_horizon"] == round(fit["fixed_bytes"] + fit["per_entity_bytes"] * 34_000_000)
        price = Decimal("3.7") if s["held_in"] == "memory" else Decimal("0.11")
        assert Decimal(s["monthly_cost_at_horizon"]) == (s["bytes_at_horizon"] * price / 10**9).quantize(
            Decimal("0.01"))
        assert s["monthly_cost_at_horizon"] in proc.stdout  # the terminal's projection table
    assert "prices of 2026-12-01" in proc.stdout
    plots, tables = render(browser, folder / "report.html")
    assert tables.get("table-footprint-projection") == 2, tables
    bars = plots["plot-footprint-cost"]  # one bar per store in each of its two panels, the costs written beside
    assert all(s["monthly_cost_at_horizon"] in bars for s in p["stores"].values()), bars[:300]
    matrix = sandbox("recommend", "--results", str(results), env={"COLUMNS": "200"})
    assert matrix.returncode == 0, matrix.stderr
    for name, s in p["stores"].items():
        assert f"EUR {s['monthly_cost_at_horizon']}/month for 34M roots" in " ".join(matrix.stdout.split()), name
