"""`sandbox evaluate` with a durability requirement, on a throwaway stack whose Redis runs without persistence
(`--durability redis.appendonly=no`, the crash trials' profile): changing only `lost_acknowledged` to "none"
excludes Redis as system of record, from what its own crash trial lost (not from a list of names); PostgreSQL,
which lost nothing in its trial, is chosen. Both records open in headless Chromium: no error, nothing fetched,
the diagram drawn with a size and naming the chosen store, every link resolving to a summary.json value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.decision_page import check_links, chromium, open_decision, value_at
from tests.helpers import sandbox, throwaway_stack

TEST_OFFSET = 835
BOUNDED = '''model = "orders"
mix = "ycsb-a"
budget = "500 USD/month"

[load]
peak_rate = 20
data_size = 200

[durability]
lost_acknowledged = 1000000
'''
NONE_LOST = BOUNDED.replace("lost_acknowledged = 1000000", 'lost_acknowledged = "none"')


def _evaluate(tmp_path: Path, env: dict[str, str], text: str, name: str) -> tuple[str, Path, dict]:
    file = tmp_path / f"{name}.toml"
    file.write_text(text)
    done = sandbox("evaluate", str(file), "--stores", "postgres,redis", "--size", "200",
                   "--durability", "redis.appendonly=no", env=env, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    folder = Path(done.stdout.split("decision: ")[1].split()[0]).parent
    return done.stdout, folder, json.loads((folder / "evaluation.json").read_text())


def _durability(evaluation: dict, store: str) -> dict:
    return next(v for v in evaluation["verdicts"] if v["store"] == store and v["kind"] == "durability")


@pytest.mark.stores("postgres", "redis")
def test_none_lost_excludes_the_store_without_persistence_as_system_of_record(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", TEST_OFFSET, ["postgres", "redis"]) as t:
        _, bounded, first = _evaluate(tmp_path, t.env, BOUNDED, "bounded")
        again, strict, second = _evaluate(tmp_path, t.env, NONE_LOST, "strict")
        results = t.ws.results_dir
        assert f"reused {first['runs'][0]['run']}" in again  # the same crash trials, scored against "none"

        # What Redis lost comes from its trial's row, run at appendonly=no as the server itself reported.
        redis = _durability(second, "redis")
        [evidence] = redis["evidence"]
        row = value_at(results, f"../{evidence['run']}/summary.json#{evidence['path']}")
        assert row["store"] == "redis" and "appendonly=no" in row["setting"] and row["lost"] > 0, row
        assert redis["status"] == "not met"
        assert _durability(first, "redis")["status"] == "met"  # the same trial is within a bound of 1,000,000
        pg = _durability(second, "postgres")
        assert pg["status"] == "met", pg
        assert value_at(results, f"../{pg['evidence'][0]['run']}/summary.json#{pg['evidence'][0]['path']}")[
            "lost"] == 0

        assert "redis" not in first["decision"]["not_system_of_record"]
        assert "durability" in second["decision"]["not_system_of_record"]["redis"]
        assert second["decision"]["chosen"] == "postgres"
        text = (strict / "decision.md").read_text()
        assert "redis is ruled out and excluded as system of record: durability" in text.split("## Consequences")[1]
        assert "excluded as system of record" not in (bounded / "decision.md").read_text()

        # The cost per month is the footprint run's projection, linked; the record names it for the chosen store.
        cost = next(v for v in second["verdicts"] if v["store"] == "postgres" and v["kind"] == "footprint")
        figure = value_at(results, f"../{cost['evidence'][0]['run']}/summary.json#{cost['evidence'][0]['path']}")
        assert cost["evidence"][0]["shown"].startswith(f"{figure} USD/month"), (cost, figure)
        assert f"- postgres: [{cost['evidence'][0]['shown']}]" in text.split("## Decision")[1].split("## ")[0]

        with chromium(tmp_path / "chromium") as browser:
            for folder, evaluation in ((bounded, first), (strict, second)):
                page = open_decision(browser, folder / "decision.html")
                assert page["width"] > 300 and page["height"] > 80, page
                named = [evaluation["decision"]["chosen"]] if evaluation["decision"]["chosen"] else \
                    [r["store"] for r in evaluation["decision"]["roles"] if r["store"]]
                assert named and all(s in page["nodes"] and s in page["nodes"][s] for s in named), page["nodes"]
                assert check_links(folder / "decision.html", page["hrefs"]) >= 3  # the rows and the run
