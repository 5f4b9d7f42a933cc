"""Cache-aside: a store playing the cache (Redis) in front of one playing the origin (PostgreSQL) under five
policies, then the cache killed mid-run: hit ratio, stale reads, stampedes (scenario `cache-aside`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.base import Experiment
from sandbox.experiments.cache_aside import section, steps
from sandbox.experiments.cache_aside.result import CachePolicies
from sandbox.experiments.cache_aside.table import print_cache
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext


class CacheAside(Experiment[CachePolicies]):
    name = "cache_aside"
    result = CachePolicies
    steps = steps.STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def show(self, ctx: RunContext, result: CachePolicies) -> list[str]:
        print_cache(result.outcomes)
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        tables = section.cache_aside(summary)
        return {"tables": tables} if tables else None


EXPERIMENT = CacheAside()
