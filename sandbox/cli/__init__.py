"""The `sandbox` command: one module per concern; importing them registers their commands on the app."""

from sandbox.cli import evaluate, maintenance, models, results, run, stack, workers
from sandbox.cli.app import app, main

__all__ = ["app", "evaluate", "main", "maintenance", "models", "results", "run", "stack", "workers"]
