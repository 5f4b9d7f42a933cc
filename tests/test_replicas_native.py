"""Read replicas on the real servers: a PostgreSQL streaming standby and a Redis replica of a throwaway stack.

One stack for the module (ports shifted by 300 beyond SANDBOX_PORT_OFFSET, its own state dir), stopped
and deleted afterwards. Shows what docs/replicas.md claims: lag measured from the client agrees in
magnitude with the servers' own figure; a paused replica lags at least as long as the pause; remote_apply
leaves no stale read-your-writes; after the primary is killed and the replica promoted, every
acknowledged write is classified against the promoted node (and async replication loses some).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
from collections.abc import Iterator

import pytest

from sandbox.experiments.replicas.faults import ReplicaFault, finish_outage, promote_after_kill, replica_outage
from sandbox.experiments.replicas.run import GuaranteeRow, open_pair, replication_of, run_markers
from sandbox.measure.checker import Verdict
from sandbox.measure.latency import summarize
from sandbox.stack.faults import FaultInjector
from sandbox.stores.replication import Guarantee, replica_node
from sandbox.workload import model_file
from sandbox.workload.dataset import Dataset, Sizes
from tests.helpers import PROJECT, Throwaway, throwaway_stack

pytestmark = pytest.mark.stores("postgres", "redis")  # the stores its tests start or use
TEST_OFFSET = 300
STORES = ["postgres", "redis"]
ORDERS = model_file.load(PROJECT / "models" / "orders.toml")


def dataset(seed: int, count: int) -> Dataset:
    return Dataset(ORDERS, seed, Sizes(count))


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Throwaway]:
    logging.getLogger("asyncpg.pool").setLevel(logging.ERROR)  # reconnect noise while a node is down
    with throwaway_stack(tmp_path_factory.mktemp("replicas") / "state", TEST_OFFSET) as t:
        t.stack.up(STORES, replicas=1)
        yield t


async def recover(t: Throwaway, injector: FaultInjector, store: str) -> None:
    await asyncio.to_thread(t.stack.discard, replica_node(store))
    await injector.restore()
    await asyncio.to_thread(t.stack.up, [store], 1)
    rep = replication_of(t.settings, store)
    if rep.configure is not None:  # the restarted primary still has the guarantee's settings
        await rep.configure(t.stack.admin_url(store), rep.guarantees[0])


def servers(t: Throwaway, store: str) -> tuple[str, str]:
    """The stack's administrative logins on the primary and its replica: the run's may not set a guarantee or
    promote (as the replicas steps use them)."""
    return t.stack.admin_url(store), t.stack.admin_url(replica_node(store))


def guarantee(t: Throwaway, store: str, name: str) -> Guarantee:
    return next(g for g in replication_of(t.settings, store).guarantees if g.name == name)


async def measure(t: Throwaway, store: str, g: Guarantee, namespace: str, markers: int = 150, load: int = 1000,
                  during_pause: ReplicaFault | None = None) -> GuaranteeRow:
    data = dataset(5, load)
    async with open_pair(t.settings, t.ws, store, namespace, g, data, 4, servers(t, store)) as pair:
        during = replica_outage(FaultInjector(t.stack), during_pause, 0.3) if during_pause else None
        row = await run_markers(pair, g, data, 0 if during else markers, load, 4, "replica", 20.0, during)
    rep = replication_of(t.settings, store)
    if rep.configure is not None:  # a later test must not find a synchronous standby configured
        await rep.configure(t.stack.admin_url(store), rep.guarantees[0])
    return row


def test_both_nodes_report_their_roles(replicated: Throwaway) -> None:
    async def roles() -> dict[str, str]:
        out = {}
        for store in STORES:
            async with open_pair(replicated.settings, replicated.ws, store, "sbx_test_roles",
                                 replication_of(replicated.settings, store).guarantees[0],
                                 dataset(1, 1), 2, servers(replicated, store)) as pair:
                out.update({f"{store} {k}": v for k, v in pair.roles.items()})
        return out

    got = asyncio.run(roles())
    assert got["postgres primary"].startswith("primary (pg_is_in_recovery() = false)")
    assert got["postgres replica"].startswith("standby (pg_is_in_recovery() = true)")
    assert got["redis primary"].startswith("master")
    assert got["redis replica"].startswith("slave")


def test_postgres_async_lag_is_measured_and_agrees_with_pg_stat_replication(replicated: Throwaway) -> None:
    row = asyncio.run(measure(replicated, "postgres", guarantee(replicated, "postgres", "async"), "sbx_test_lag"))
    reads = row.reads
    behind = [lag for _, lag in reads.timeline if lag > 0]
    server = [s.replay_s for s in reads.server if s.replay_s is not None]
    assert reads.markers >= 50 and reads.never_visible == 0
    assert behind, f"no marker was behind on the standby in {reads.markers} (async replication under load)"
    assert reads.stale_first_reads == len(behind)
    assert server, f"pg_stat_replication gave no replay_lag: {reads.server[-3:]}"
    client_s, server_s = statistics.median(behind), statistics.median(server)
    # The same order of magnitude: milliseconds on loopback, both sides.
    assert server_s / 10 <= client_s <= max(server) * 10, (client_s, server_s, max(server))


def test_postgres_remote_apply_leaves_no_stale_read_your_writes(replicated: Throwaway) -> None:
    row = asyncio.run(measure(replicated, "postgres", guarantee(replicated, "postgres", "remote_apply"),
                              "sbx_test_apply"))
    assert row.reads.markers >= 50
    assert row.reads.stale_first_reads == 0
    assert row.reads.replica_read_errors == 0
    assert "sync" in row.reads.server_summary()["detail"]


def test_redis_wait_leaves_no_stale_read_your_writes(replicated: Throwaway) -> None:
    row = asyncio.run(measure(replicated, "redis", guarantee(replicated, "redis", "WAIT 1 1000"), "sbx_test_wait"))
    assert row.reads.markers >= 50
    assert row.reads.stale_first_reads == 0
    assert summarize(row.reads.lag)["max"] == 0.001  # every marker seen at the first read (1 us floor)


@pytest.mark.parametrize("store", STORES)
def test_replica_paused_2s_lags_at_least_2s_and_recovers(replicated: Throwaway, store: str) -> None:
    g = replication_of(replicated.settings, store).guarantees[0]
    fault = ReplicaFault(store, "pause", 2.0, g.name)
    row = asyncio.run(measure(replicated, store, g, f"sbx_test_pause_{store}", load=10**6, during_pause=fault))
    finish_outage(fault)
    max_lag_s = max(lag for _, lag in row.reads.timeline)
    assert 2.0 <= max_lag_s < 10.0, fault.detail
    assert fault.recovery_s is not None and fault.recovery_s < 5.0, (fault.recovery_s, fault.baseline_s)
    assert row.reads.replica_read_errors > 0  # reads sent to the paused replica timed out
    if store == "redis":  # the servers' own figure grew too: bytes the replica had not processed
        assert max(s.lag_bytes or 0 for s in row.reads.server) > 0


# (store, guarantee, loses acknowledged writes?): None where it depends on what the kernel had buffered.
PROMOTIONS = [("postgres", "async", True), ("postgres", "remote_apply", False), ("redis", "async", None)]


@pytest.mark.parametrize(("store", "name", "loses"), PROMOTIONS)
def test_promotion_after_kill_classifies_every_acknowledged_write(replicated: Throwaway, store: str, name: str,
                                                                  loses: bool | None) -> None:
    g = guarantee(replicated, store, name)
    fault = ReplicaFault(store, "promote", 1.0, g.name)
    data = dataset(9, 100_000)
    injector = FaultInjector(replicated.stack)

    async def run() -> None:
        async with open_pair(replicated.settings, replicated.ws, store, f"sbx_test_promote_{store}_{name[:5]}", g,
                             data, 4, servers(replicated, store)) as pair:
            try:
                await promote_after_kill(pair, injector, fault, data, 100_000, 4, 100,
                                         replicated.ws.results_dir / f"history-{store}.jsonl", behind_s=1.0)
            finally:  # back to a primary and a fresh replica, so the namespace is dropped on the old primary
                await recover(replicated, injector, store)

    asyncio.run(run())
    check = fault.check
    assert check is not None and check.error is None and check.ids is not None
    classified_acknowledged = check.counts[Verdict.OK] + check.counts[Verdict.LOST]
    assert fault.acknowledged >= 100 and classified_acknowledged == fault.acknowledged, check.counts
    # The replica was paused for 1 s before the kill: async replication acknowledged writes it never had;
    # remote_apply acknowledged none of those (the primary waited for the paused standby).
    if loses is not None:
        assert (check.counts[Verdict.LOST] > 0) == loses, check.counts
    assert any("promote" in d for d in fault.detail)
    assert "primary" in fault.detail[-1] or "master" in fault.detail[-1]
