"""Headless Chromium with the network off (report.html, compare.html and the decision pages are checked in it),
and opening decision.html for the evaluate tests: the page loads without errors, fetches nothing, its diagram is
drawn with a size, and every link leads to a run's summary.json value."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--host-resolver-rules=MAP * ~NOTFOUND")  # no name resolves: nothing can be fetched


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        pytest.fail("headless Chromium is needed: install chromium and chromium-driver (`make setup` does, "
                    "or apt-get install -y chromium chromium-driver)")
    options = Options()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        browser.execute_cdp_cmd("Network.enable", {})
        browser.execute_cdp_cmd("Network.emulateNetworkConditions",
                                {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
        yield browser
    finally:
        browser.quit()


def value_at(results: Path, href: str) -> Any:
    """The summary.json value a record's link `../RUN/summary.json#dotted.path` points at (KeyError if none)."""
    target, _, path = href.partition("#")
    assert target.startswith("../") and target.endswith("/summary.json"), href
    value = json.loads((results / target.removeprefix("../")).read_text())
    for part in path.split(".") if path else []:
        value = value[int(part)] if isinstance(value, list) else value[part]
    assert value is not None, href
    return value


def open_decision(browser: Any, page: Path) -> dict[str, Any]:
    """The page's diagram nodes ({store or role: text}), its links (raw hrefs) and its diagram's size."""
    from selenium.webdriver.common.by import By

    browser.get_log("browser")  # drain what earlier pages logged
    browser.get(page.as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == [], errors
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert [u for u in fetched if not u.startswith(("file:", "data:"))] == [], "the page fetched from the network"
    svg = browser.find_element(By.CSS_SELECTOR, "figure#diagram svg")
    size = svg.size
    nodes = {}
    for g in svg.find_elements(By.CSS_SELECTOR, "g.node"):
        text = g.text or g.get_attribute("textContent")
        for key in ("data-store", "data-role"):
            if g.get_attribute(key):
                nodes[g.get_attribute(key)] = text
    hrefs = browser.execute_script(  # an SVG <a>'s href is an SVGAnimatedString: its raw attribute instead
        "return Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1280, min(height, 8000))
    browser.save_screenshot(str(page.with_name("decision-screenshot.png")))
    return {"nodes": nodes, "hrefs": hrefs, "width": size["width"], "height": size["height"]}


def check_links(page: Path, hrefs: list[str]) -> int:
    """Every link of the page resolves: a run's summary.json value, or a file beside the page. Returns the count."""
    for href in hrefs:
        if href.startswith("../"):
            value_at(page.parent.parent, href)
        else:
            assert (page.parent / href).is_file(), href  # decision.svg
    return len(hrefs)
