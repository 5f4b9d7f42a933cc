"""Earlier runs that measured the same thing: same scenario, model file, seed, sizes, parameters, options, backend
and the same servers (product and version, as each reported itself). `sandbox evaluate` writes the key beside
each run's summary.json (measured_for.json); a run made by hand has none and is never taken for one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

KEY_FILE = "measured_for.json"


def mark(folder: Path, key: dict[str, Any]) -> None:
    (folder / KEY_FILE).write_text(json.dumps(key, indent=2, sort_keys=True) + "\n")


def find(results_root: Path, key: dict[str, Any]) -> Path | None:
    """The newest finished run under results_root whose key is `key`, or None."""
    if not results_root.is_dir():
        return None
    wanted = json.loads(json.dumps(key, sort_keys=True))  # tuples -> lists, as the file has them
    for folder in sorted(results_root.iterdir(), reverse=True):
        marker, summary = folder / KEY_FILE, folder / "summary.json"
        if not (marker.is_file() and summary.is_file()):
            continue
        try:
            if json.loads(marker.read_text()) != wanted or json.loads(summary.read_text()).get("interrupted"):
                continue
        except (OSError, json.JSONDecodeError):
            continue  # a half-written run is no evidence
        return folder
    return None
