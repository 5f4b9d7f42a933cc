"""Results people read: report.html and compare.html in headless Chromium (network off), the standard
HdrHistogram formats, terminal width, `sandbox report` on an older folder, `sandbox recommend`.

Real runs on the stack `make test` starts; the outage run kills Redis in a throwaway stack of its own.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

from tests.decision_page import chromium
from tests.helpers import BUILT_IN, SANDBOX, throwaway_stack

pytestmark = pytest.mark.stores(*BUILT_IN.names)  # the stores its tests start or use
PROJECT = Path(__file__).resolve().parent.parent
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p99.9": 99.9}
TEST_OFFSET = 740


def sandbox(*args: str, results: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "SANDBOX_PROJECT_DIR": str(PROJECT), "SANDBOX_RESULTS_DIR": str(results),
            "COLUMNS": "100", **(env or {})}
    return subprocess.run([*SANDBOX, *args], capture_output=True, text=True, env=full, timeout=400)


@pytest.fixture(scope="module")
def trials(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Two trials of the orders scenario on all five stores: the folder and what the terminal showed."""
    results = tmp_path_factory.mktemp("results")
    done = sandbox("run", "orders", "--orders", "400", "--repeat", "2", "--warmup", "0.3", "--seed", "11",
                   results=results)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    [folder] = list(results.iterdir())
    return folder, done.stdout


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium")) as chrome:
        yield chrome


def render(browser: Any, page: Path) -> tuple[dict[str, str], dict[str, int]]:
    """Open a page offline; return its plots (id -> svg text) and tables (id -> body rows), screenshot saved."""
    from selenium.webdriver.common.by import By

    browser.get_log("browser")  # drain what earlier pages logged
    browser.get(page.as_uri())
    plots = {}
    for figure in browser.find_elements(By.CSS_SELECTOR, "figure.plot"):
        svg = figure.find_element(By.TAG_NAME, "svg")
        assert svg.size["width"] > 300 and svg.size["height"] > 150, figure.get_attribute("id")
        plots[figure.get_attribute("id")] = svg.get_attribute("outerHTML")
    tables = {t.get_attribute("id"): len(t.find_elements(By.CSS_SELECTOR, "tbody tr"))
              for t in browser.find_elements(By.CSS_SELECTOR, "table.data")}
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [u for u in fetched if not u.startswith(("file:", "data:"))] == [], "the page fetched from the network"
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(height, 12_000))
    shot = page.with_name(page.stem + "-screenshot.png")
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000
    return plots, tables


def test_report_html_shows_every_plot_and_table_offline(trials: tuple[Path, str], browser: Any) -> None:
    folder, _ = trials
    plots, tables = render(browser, folder / "trial-1" / "report.html")
    assert set(plots) == {"plot-plot-spectrum-write", "plot-plot-spectrum-read", "plot-plot-timeline"}
    for store in ("postgres", "mongo", "redis", "elastic", "influx"):
        assert store in plots["plot-plot-spectrum-write"]  # every store has its line (legend)
    assert "warm-up" in plots["plot-plot-timeline"]
    assert {"table-latency", "table-client", "table-consistency", "table-recommend", "table-manifest"} <= set(tables)
    assert tables["table-latency"] == 10 and tables["table-consistency"] == 5 and tables["table-recommend"] == 5
    for name in ("plot-spectrum-write.png", "plot-spectrum-read.png", "plot-timeline.png"):
        assert (folder / "trial-1" / name).stat().st_size > 10_000

    plots, tables = render(browser, folder / "report.html")
    assert set(plots) == {"plot-plot-spectrum-write", "plot-plot-spectrum-read"}
    assert tables["table-trials"] == 10 * 4  # 5 stores x 2 ops x 4 metrics
    manifest = (folder / "report.html").read_text()
    assert "--seed 11" in manifest and "SecantusDB" in manifest and "stand-in" in manifest
    assert "reports fsync=" in manifest and "appendonly=" in manifest  # settings as the servers reported them


def test_compare_html_shows_the_overlaid_spectra_and_the_table_offline(trials: tuple[Path, str],
                                                                      browser: Any) -> None:
    folder, _ = trials
    done = sandbox("compare", str(folder), "--stores", "postgres,redis", "--noise", "5", results=folder.parent)
    assert done.returncode == 0, done.stderr
    assert "trials 2 vs 2" in " ".join(done.stdout.split()) and max(map(len, done.stdout.splitlines())) <= 100
    plots, tables = render(browser, folder / "compare.html")
    assert set(plots) == {"plot-plot-compare-write", "plot-plot-compare-read"}
    assert tables == {"table-compare-0": 2 * 4}
    rows = json.loads((folder / "compare.json").read_text())[0]["rows"]
    tested = [r for r in rows if r["metric"] in ("throughput", "p50")]
    tails = [r for r in rows if r not in tested]
    assert all(r["ci_pct"] is not None and r["p_adjusted"] is not None for r in tested)  # two trials a side
    assert all(r["ci_pct"] is None and r["verdict"].startswith(f"too few samples for {r['metric']} (need >= 1")
               for r in tails), tails  # 400 orders: p99 and p99.9 have fewer than 10 operations beyond them


def test_hdr_fields_and_hlogs_decode_to_the_printed_percentiles(trials: tuple[Path, str]) -> None:
    folder, stdout = trials
    for trial in ("trial-1", "trial-2"):
        summary = json.loads((folder / trial / "summary.json").read_text())
        for store, s in summary["stores"].items():
            for op, o in s["operations"].items():
                hist = HdrHistogram.decode(o["hdr"])  # as is: standard compressed base64
                assert hist.get_total_count() == o["ok"]
                for key, p in PERCENTILES.items():
                    assert hist.get_value_at_percentile(p) / 1000 == o["latency_ms"][key], (store, op, key)
                service = HdrHistogram.decode(o["hdr_service"])
                assert service.get_value_at_percentile(99) / 1000 == o["service_ms"]["p99"]
                for kind, whole in (("response", hist), ("service", service)):
                    reader = HistogramLogReader(str(folder / trial / "hlog" / f"{store}.{op}.{kind}.hlog"),
                                                HdrHistogram(1, 60_000_000, 3))
                    added = HdrHistogram(1, 60_000_000, 3)
                    intervals = 0
                    while (interval := reader.get_next_interval_histogram()) is not None:
                        added.add(interval)
                        intervals += 1
                    assert intervals >= 1 and added.get_total_count() == whole.get_total_count(), (store, op, kind)
                    for p in PERCENTILES.values():
                        assert added.get_value_at_percentile(p) == whole.get_value_at_percentile(p)
    # The terminal's latency table of the last trial printed the same numbers.
    last = stdout[stdout.index("trial 2 of 2"):]
    table = last[last.index("latency (ms"):last.index("servers and the client side")].splitlines()
    assert not [x for x in table if "…" in x], "a name or header of the latency table is cut at 100 columns"
    summary = json.loads((folder / "trial-2" / "summary.json").read_text())
    for store, s in summary["stores"].items():
        line = next(x for x in table if x.split()[:2] == [store, "write"])
        lat = s["operations"]["write"]["latency_ms"]
        shown = [f"{v:.2f}" if v < 100 else f"{v:.0f}" for v in (lat[k] for k in ("p50", "p90", "p99", "p99.9",
                                                                                    "max"))]
        cells = line.split()
        assert cells[-6:-1] == shown, line  # the percentiles, then the server calls per op


def test_every_terminal_line_fits_columns(trials: tuple[Path, str], tmp_path: Path) -> None:
    _, stdout = trials
    assert max(len(line) for line in stdout.splitlines()) <= 100
    done = sandbox("recommend", "--results", str(trials[0].parent), results=tmp_path, env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    summary = json.loads((trials[0] / "trial-2" / "summary.json").read_text())
    assert summary["run_id"] in done.stdout.replace("\n", "") or summary["run_id"][:8] in done.stdout
    assert "not measured" in done.stdout and "STAND-IN" in done.stdout


def test_report_command_redraws_a_folder_written_before_the_standard_formats(trials: tuple[Path, str],
                                                                           tmp_path: Path) -> None:
    old = tmp_path / "20250101T000000Z-orders"
    shutil.copytree(trials[0] / "trial-1", old, ignore=shutil.ignore_patterns("*.png", "*.html", "hlog"))
    summary = json.loads((old / "summary.json").read_text())
    for s in summary["stores"].values():  # the old hdr fields: base64 of HdrHistogram's base64
        for o in s["operations"].values():
            o["hdr"] = base64.b64encode(o["hdr"].encode()).decode()
    summary.pop("environment")
    (old / "summary.json").write_text(json.dumps(summary))
    rows = list(csv.DictReader((old / "timeline.csv").open()))
    with (old / "timeline.csv").open("w", newline="") as f:  # the old columns: no wall clock
        writer = csv.DictWriter(f, [k for k in rows[0] if k not in ("wall_clock", "span_s")], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    done = sandbox("report", str(old), results=tmp_path)
    assert done.returncode == 0, done.stderr
    page = (old / "report.html").read_text()
    assert page.count('<figure class="plot"') == 3 and "predates" in page
    assert (old / "plot-timeline.png").is_file()


def test_outage_report_marks_the_kill_on_the_timeline_and_shows_the_fault_tables(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", TEST_OFFSET, ["postgres", "redis"]) as t:
        done = sandbox("run", "outage", "--stores", "postgres,redis", "--orders", "1500", "--seed", "3",
                       "-p", "down_s=1", results=t.ws.results_dir, env=t.env)
        assert done.returncode in (0, 3), done.stdout[-3000:] + done.stderr
        [folder] = list(t.ws.results_dir.iterdir())
        page = (folder / "report.html").read_text()
    for table in ("table-faults", "table-recovery", "table-check-0", "table-latency"):
        assert f'id="{table}"' in page
    timeline = page[page.index('id="plot-plot-timeline"'):]
    timeline = timeline[:timeline.index("</figure>")]
    assert "kill redis" in timeline


def test_a_spike_stage_and_a_partition_show_in_report_html(tmp_path: Path, browser: Any) -> None:
    """Load shapes and network partitions, looked at in headless Chromium: the stages and the cut link marked on
    the timeline, the stage table and the network table shown, the servers' background lanes under the p99."""
    from sandbox.stack.netns import unavailable

    assert unavailable() is None, f"the partition needs a network namespace: {unavailable()}"
    with throwaway_stack(tmp_path / "state", TEST_OFFSET, ["postgres", "redis"]) as t:
        spike = sandbox("run", "load-shapes", "--stores", "postgres,redis", "--rate", "60", "--seed", "2",
                        "--stages", "hold:2s, spike:2s:x4, hold:2s", results=t.ws.results_dir, env=t.env)
        assert spike.returncode == 0, spike.stdout[-3000:] + spike.stderr
        cut = sandbox("run", "partition", "--stores", "postgres,redis", "--seed", "2", "--duration", "7",
                      "-p", "at_s=2", "-p", "cut_s=2", results=t.ws.results_dir, env=t.env)
        assert cut.returncode in (0, 3), cut.stdout[-3000:] + cut.stderr
        shaped = next(f for f in t.ws.results_dir.iterdir() if f.name.endswith("-load-shapes"))
        parted = next(f for f in t.ws.results_dir.iterdir() if f.name.endswith("-partition"))
        plots, tables = render(browser, shaped / "report.html")
        assert "spike 240/s" in plots["plot-plot-timeline"] and "intended rate" in plots["plot-plot-timeline"]
        assert "background" in plots["plot-plot-timeline"]  # the servers' lanes under the p99 curve
        assert tables["table-stages"] == 3 * 2  # three stages x two stores
        assert tables["table-background"] == 2
        plots, tables = render(browser, parted / "report.html")
        assert "partition postgres" in plots["plot-plot-timeline"] and "heal postgres" in plots["plot-plot-timeline"]
        assert "link cut (partition)" in plots["plot-plot-timeline"]
        assert tables["table-network"] == 1 and tables["table-faults"] == 2


def test_durability_report_shows_the_trials_as_the_terminal_does(tmp_path: Path, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    with throwaway_stack(tmp_path / "state", TEST_OFFSET, ["postgres", "redis"]) as t:
        done = sandbox("run", "durability", "--stores", "postgres,redis", "--seed", "5", "-p", "repeat=2",
                       "-p", "profiles=default", "-p", "kill_after_s=0.3", results=t.ws.results_dir, env=t.env)
        assert done.returncode in (0, 3), done.stdout[-3000:] + done.stderr
        [folder] = list(t.ws.results_dir.iterdir())
        _, tables = render(browser, folder / "report.html")  # the folder goes with the throwaway stack
        table = browser.find_element(By.ID, "table-durability")
        headers = [th.text for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
        shown = {cells[1]: dict(zip(headers, cells, strict=True)) for cells in (
            [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr"))}
        rows = json.loads((folder / "summary.json").read_text())["durability"]["rows"]
        page = (folder / "report.html").read_text()
    assert tables["table-durability"] == 2  # one row per store, its two trials folded in
    for store in ("postgres", "redis"):
        trials = [r for r in rows if r["store"] == store]
        lost = [r["lost"] for r in trials]
        counts = re.sub(r" \([^)]*\)", "", shown[store]["lost per trial (loss window)"])  # "3 (7.9 ms)": 3
        assert len(trials) == 2 and counts == f"{lost[0]}, {lost[1]}"
        assert shown[store]["lost min/med/max"] == f"{min(lost)}/{int(sum(lost) / 2)}/{max(lost)}"
        assert shown[store]["acked per trial"] == ", ".join(str(r["acknowledged"]) for r in trials)
        assert shown[store]["writes/s at kill"] not in ("", "-")  # killed while taking writes
        assert shown[store]["server at the kill (worst trial)"]  # what the server said of its persistence
        # the terminal printed the same cells (the per-trial cell, with its loss windows, may wrap there)
        line = next(x for x in done.stdout.splitlines() if x.split()[:1] == [store] or x.split()[1:2] == [store])
        assert shown[store]["lost min/med/max"] in line and line.split(shown[store]["lost min/med/max"])[1].split()[0] \
            == shown[store]["lost per trial (loss window)"].split()[0], line
    assert "failure simulated" in page
