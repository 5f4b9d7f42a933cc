"""The strategies compared side by side: what each cost the client and what it bought in consistency."""

from __future__ import annotations

from rich import box
from rich.table import Table

from sandbox.measure.latency import summarize
from sandbox.report.console import console
from sandbox.strategies.outcome import StrategyOutcome


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _n(n: int | None) -> str:
    return "-" if n is None else f"[red]{n}[/]" if n else "0"


def strategies_table(outcomes: list[StrategyOutcome]) -> Table:
    fault = next((o.fault for o in outcomes if o.fault), None)
    title = "write strategies under the same workload and fault"
    if fault:
        title += f" ({fault['store']} killed after {fault['at_order']} orders, restarted {fault['down_s']} s later)"
    # What each strategy cost the client here; what it bought in the next table (two, to fit 100 columns).
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=title)
    for col in ("strategy", "acked", "failed", "write p50 ms", "write p99 ms", "orders/s"):
        table.add_column(col, justify="left" if col == "strategy" else "right", no_wrap=col == "strategy")
    for o in outcomes:
        lat = summarize(o.save.latency)
        table.add_row(o.strategy, str(o.acked), _n(o.failed), _ms(lat["p50"]), _ms(lat["p99"]),
                      "-" if o.throughput is None else f"{o.throughput:,.0f}")
    return table


def divergence_table(outcomes: list[StrategyOutcome]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="what each strategy bought (orders)")
    for col in ("strategy", "divergent at end", "divergent after recovery", "time to converge", "duplicates",
                "lost acked"):
        table.add_column(col, justify="left" if col == "strategy" else "right", no_wrap=col == "strategy")
    for o in outcomes:
        end, after = o.at_end, o.after_recovery
        converge = f"{o.converge_s:.2f} s" if o.converge_s is not None else "[red]never[/]" if not o.settled \
            or (after and after.divergent) else "-"
        table.add_row(o.strategy, _n(len(end.divergent) if end else None),
                      _n(len(after.divergent) if after else None), converge,
                      _n(after.duplicates if after else None), _n(len(after.lost_acked) if after else None))
    return table


def lag_table(outcomes: list[StrategyOutcome]) -> Table | None:
    rows = [(o.strategy, store, summarize(h), h.get_total_count()) for o in outcomes for store, h in o.lag.items()]
    if not rows:
        return None
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False,
                  title="commit in the source of truth -> applied in the store (ms, HdrHistogram)")
    for col in ("strategy", "store", "applied", "p50", "p90", "p99", "max"):
        table.add_column(col, justify="left" if col in ("strategy", "store") else "right")
    for strategy, store, lat, n in rows:
        table.add_row(strategy, store, str(n), _ms(lat["p50"]), _ms(lat["p90"]), _ms(lat["p99"]), _ms(lat["max"]))
    return table


def print_strategies(outcomes: list[StrategyOutcome]) -> None:
    console.print(strategies_table(outcomes))
    console.print(divergence_table(outcomes))
    if (lag := lag_table(outcomes)) is not None:
        console.print(lag)
    for o in outcomes:
        d = o.details
        for store, why in o.left_out.items():
            console.print(f"  {o.strategy}: {store} left out: {why}")
        if "backlog_max" in d:
            console.print(f"  {o.strategy}: outbox backlog max {d['backlog_max']}, batches retried "
                          f"{d['batches_retried']}, redelivered upserts skipped as already applied "
                          f"{sum(d['redelivered_upserts'].values())}")
        if "projections" in d:
            retried = sum(p["batches_retried"] for p in d["projections"].values())
            replays = sum(p["replayed_skipped"] for p in d["projections"].values())
            console.print(f"  {o.strategy}: projection batches retried {retried}, replayed upserts skipped {replays}")
        if "inventory_consistent" in d:
            verdict = "[green]inventory = initial - confirmed[/]" if d["inventory_consistent"] else \
                f"[red]inventory off on {d['products_off']} products[/]"
            console.print(f"  {o.strategy}: {', '.join(f'{k} {v}' for k, v in d['outcomes'].items())}; {verdict}; "
                          f"negative {d['negative_inventory']}; unfinished sagas {d['sagas_unfinished']}")
        if o.after_recovery and o.after_recovery.divergent:
            ids = o.after_recovery.divergent
            console.print(f"  {o.strategy}: {len(ids)} still divergent, e.g. {', '.join(ids[:3])}")
            for store, s in o.after_recovery.per_store.items():
                if s["missing"] or s["extra"] or s["differing"] or s["error"]:
                    console.print(f"    {store}: missing {s['missing']}, extra {s['extra']}, differing "
                                  f"{s['differing']}{', error ' + s['error'] if s['error'] else ''}")
        if o.fault.get("error"):
            console.print(f"  [red]{o.strategy}: fault {o.fault['error']}[/]")
        if o.finding:
            console.print(f"  [red]{o.strategy} broke its promise to converge: {o.finding}[/]")
