"""Instance pools with warm Spark drivers: a cluster from a pool takes over the pool's idle driver process (no JVM
started for it) with its runtime ``spark_conf`` applied, the pool refills, a terminated cluster's driver goes back
to a pool that wants it (having forgotten the cluster) and stops otherwise, a deleted pool's idle drivers stop, a
cluster whose JVM-start settings differ starts its own driver and says why, a full pool refuses."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import compute, jobs

from airbricks.workspace.compute.pool import DEFAULT_POOL
from airbricks.workspace.compute.spark.engine import SparkEngine
from airbricks.workspace.server.serve import LocalWorkspace

from .conftest import CLUSTER, gone, notebook_result, run_task, spark_processes, wait_cluster


def _cluster_marked(spark_dir: Path, ident: str) -> list[int]:
    """The workspace's processes whose command line names this driver id (``-Dairbricks.cluster=<id>``)."""
    marker = f"-Dairbricks.cluster={ident}".encode()
    return [pid for pid in spark_processes(spark_dir) if marker in Path(f"/proc/{pid}/cmdline").read_bytes()]


def _wait(what: Callable[[], object], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, f"still not {what}"
        time.sleep(0.2)


def _running_note(sdk: WorkspaceClient, cluster_id: str) -> str:
    running = [e for e in sdk.clusters.events(cluster_id) if e.type == compute.EventType.RUNNING]
    assert running and running[0].details is not None
    return running[0].details.driver_state_message or ""


@pytest.fixture
def spark_dir(spark_ws: LocalWorkspace) -> Path:
    return spark_ws.workspace.data_dir / "spark"


@pytest.fixture
def engine(spark_ws: LocalWorkspace) -> SparkEngine:
    engine = spark_ws.workspace.clusters.engine
    assert isinstance(engine, SparkEngine)
    return engine


def _new_pool(sdk: WorkspaceClient, name: str, **limits: int) -> str:
    created = sdk.instance_pools.create(
        instance_pool_name=f"{name}-{uuid.uuid4().hex[:6]}", node_type_id="i3.xlarge", **limits
    )
    return str(created.instance_pool_id)


def _remove(sdk: WorkspaceClient, pools: list[str], clusters: list[str]) -> None:
    for pool_id in pools:
        sdk.instance_pools.delete(pool_id)
    for cluster_id in clusters:
        sdk.clusters.permanent_delete(cluster_id)


def _notebook_on(sdk: WorkspaceClient, cluster_id: str, path: str) -> str:
    return notebook_result(sdk, run_task(sdk, existing_cluster_id=cluster_id, notebook_task=jobs.NotebookTask(path)))


def test_a_cluster_from_a_pool_takes_its_idle_driver_and_the_pool_refills(
    spark_sdk: WorkspaceClient, notebook: Callable[[str], str], spark_dir: Path, engine: SparkEngine
) -> None:
    pool_id = _new_pool(spark_sdk, "warm", min_idle_instances=1, max_capacity=2)
    # A static Spark setting differs from the default pool's driver: this one starts its own.
    _wait(lambda: engine.pool_stats(DEFAULT_POOL).idle_count == 1)
    static = {"spark.sql.ui.retainedExecutions": "50"}
    cold = spark_sdk.clusters.create(cluster_name="cold", spark_conf=static, **CLUSTER).cluster_id
    created = [cold]
    try:
        wait_cluster(spark_sdk, cold, timeout=180)
        note = _running_note(spark_sdk, cold)
        assert "Not from the default pool" in note and "spark_conf sets spark.sql.ui.retainedExecutions" in note
        cold_pid = engine.driver(cold).pid
        spark_sdk.clusters.permanent_delete(cold)  # its place, for the pool's refill below
        created.remove(cold)
        _wait(lambda: spark_sdk.instance_pools.get(pool_id).stats.idle_count == 1, timeout=180)
        (idle_pid,) = _cluster_marked(spark_dir, f"pool-{pool_id}-1")
        assert idle_pid != cold_pid

        cluster_id = spark_sdk.clusters.create(cluster_name="from-pool", instance_pool_id=pool_id, **CLUSTER).cluster_id
        created.append(cluster_id)
        wait_cluster(spark_sdk, cluster_id, timeout=30)
        assert engine.driver(cluster_id).pid == idle_pid  # the pool's process is the cluster's driver: no JVM start
        assert f"taken from instance pool {pool_id} (process {idle_pid}" in _running_note(spark_sdk, cluster_id)
        path = notebook("dbutils.notebook.exit(str(spark.range(4).count()))")
        run = run_task(spark_sdk, existing_cluster_id=cluster_id, notebook_task=jobs.NotebookTask(path))
        assert notebook_result(spark_sdk, run) == "4"

        _wait(lambda: spark_sdk.instance_pools.get(pool_id).stats.idle_count == 1, timeout=180)  # refilled
        stats = spark_sdk.instance_pools.get(pool_id).stats
        assert (stats.used_count, stats.idle_count) == (1, 1)
        (refill_pid,) = _cluster_marked(spark_dir, f"pool-{pool_id}-2")

        # A full pool (1 used + 1 idle = max_capacity) has no room for a cluster its idle driver does not fit.
        full = spark_sdk.clusters.create(
            cluster_name="full", instance_pool_id=pool_id, spark_env_vars={"POOL_TEST": "1"}, **CLUSTER
        ).cluster_id
        created.append(full)
        refused = wait_cluster(spark_sdk, full, ("TERMINATED",), timeout=30)
        assert refused.termination_reason.code == compute.TerminationReasonCode.INSTANCE_POOL_MAX_CAPACITY_REACHED

        spark_sdk.clusters.delete(cluster_id)  # its driver (the former idle one) stops: never handed out again
        wait_cluster(spark_sdk, cluster_id, ("TERMINATED",), timeout=60)
        _wait(lambda: gone(idle_pid), timeout=30)
        assert spark_sdk.instance_pools.get(pool_id).stats.used_count == 0
        spark_sdk.instance_pools.delete(pool_id)  # its idle driver stops
        _wait(lambda: gone(refill_pid), timeout=30)
    finally:
        _remove(spark_sdk, [pool_id], created)


def test_a_pool_driver_takes_its_clusters_runtime_settings_and_goes_back_to_the_pool_clean(
    spark_sdk: WorkspaceClient, notebook: Callable[[str], str], spark_dir: Path, engine: SparkEngine
) -> None:
    pool_id = _new_pool(spark_sdk, "settings", min_idle_instances=1)
    created: list[str] = []
    try:
        _wait(lambda: spark_sdk.instance_pools.get(pool_id).stats.idle_count == 1, timeout=180)
        (idle_pid,) = _cluster_marked(spark_dir, f"pool-{pool_id}-1")
        runtime = {"spark.sql.shuffle.partitions": "7", "spark.airbricks.test.env": "dev"}
        first = spark_sdk.clusters.create(
            cluster_name="settings", instance_pool_id=pool_id, spark_conf=runtime, **CLUSTER
        ).cluster_id
        created.append(first)
        wait_cluster(spark_sdk, first, timeout=30)
        assert engine.driver(first).pid == idle_pid
        note = _running_note(spark_sdk, first)
        assert "spark_conf applied to it: spark.airbricks.test.env, spark.sql.shuffle.partitions" in note
        settings = (
            "spark.conf.get('spark.sql.shuffle.partitions') + ':' + spark.conf.get('spark.airbricks.test.env', '-')"
        )
        leave = notebook(
            "spark.range(3).createOrReplaceGlobalTempView('left_behind')\n"
            "spark.catalog.cacheTable('global_temp.left_behind')\n"
            "spark.range(2).createOrReplaceTempView('mine')\n"
            f"dbutils.notebook.exit({settings})\n"
        )
        assert _notebook_on(spark_sdk, first, leave) == "7:dev"
        look = notebook(
            "views = [t.name for t in spark.catalog.listTables('global_temp')]\n"
            "cached = 'left_behind' in views and spark.catalog.isCached('global_temp.left_behind')\n"
            f"dbutils.notebook.exit(':'.join([{settings}, str('mine' in views), str(cached)]))\n"
        )
        # Another notebook on the cluster: its settings, the shared global temp view and cache, not the temp view.
        assert _notebook_on(spark_sdk, first, look) == "7:dev:False:True"

        spark_sdk.clusters.delete(first)  # the pool wants its idle driver back: the same process returns
        wait_cluster(spark_sdk, first, ("TERMINATED",), timeout=30)
        _wait(lambda: spark_sdk.instance_pools.get(pool_id).stats.idle_count == 1, timeout=30)
        assert _cluster_marked(spark_dir, f"pool-{pool_id}-2") == []  # no JVM started to refill it

        second = spark_sdk.clusters.create(cluster_name="after", instance_pool_id=pool_id, **CLUSTER).cluster_id
        created.append(second)
        wait_cluster(spark_sdk, second, timeout=30)
        assert engine.driver(second).pid == idle_pid
        # The last cluster's settings, global temp view and cache are gone with it.
        assert _notebook_on(spark_sdk, second, look) == "200:-:False:False"

        # A job cluster naming the pool takes the same process too, once the cluster above gave it back.
        spark_sdk.clusters.delete(second)
        _wait(lambda: spark_sdk.instance_pools.get(pool_id).stats.idle_count == 1, timeout=30)
        job_cluster = compute.ClusterSpec(instance_pool_id=pool_id, spark_conf=runtime, **CLUSTER)
        run = run_task(spark_sdk, new_cluster=job_cluster, notebook_task=jobs.NotebookTask(look))
        assert notebook_result(spark_sdk, run) == "7:dev:False:False"
        assert f"(process {idle_pid}, warm" in _running_note(spark_sdk, run.tasks[0].cluster_instance.cluster_id)
    finally:
        _remove(spark_sdk, [pool_id], created)


def test_a_cluster_arriving_while_its_pools_driver_starts_waits_for_it_and_its_settings(
    spark_sdk: WorkspaceClient, notebook: Callable[[str], str], spark_dir: Path, engine: SparkEngine
) -> None:
    pools: list[str] = []
    created: list[str] = []

    def starting_pool() -> tuple[str, int]:
        pool_id = _new_pool(spark_sdk, "starting", min_idle_instances=1)
        pools.append(pool_id)
        # A new pool fills at once (the JVM itself, once spark-submit's launcher has built its command line).
        _wait(lambda: len(_cluster_marked(spark_dir, f"pool-{pool_id}-1")) == 1, timeout=120)
        assert spark_sdk.instance_pools.get(pool_id).stats.pending_idle_count == 1  # a JVM takes seconds to answer
        (pid,) = _cluster_marked(spark_dir, f"pool-{pool_id}-1")
        return pool_id, pid

    def cluster(pool_id: str, spark_conf: dict[str, str]) -> str:
        ident = spark_sdk.clusters.create(
            cluster_name="early", instance_pool_id=pool_id, spark_conf=spark_conf, **CLUSTER
        ).cluster_id
        created.append(ident)
        wait_cluster(spark_sdk, ident, timeout=180)
        return str(ident)

    try:
        # Runtime settings: the cluster waits for the starting driver, which takes them once it answers.
        pool_id, pid = starting_pool()
        early = cluster(pool_id, {"spark.sql.shuffle.partitions": "5"})
        assert engine.driver(early).pid == pid
        assert "spark_conf applied to it: spark.sql.shuffle.partitions" in _running_note(spark_sdk, early)
        partitions = notebook("dbutils.notebook.exit(spark.conf.get('spark.sql.shuffle.partitions'))")
        assert _notebook_on(spark_sdk, early, partitions) == "5"
        spark_sdk.clusters.permanent_delete(created.pop())
        _wait(lambda: engine.pool_stats(DEFAULT_POOL).pending_idle_count == 0)  # one JVM start at a time

        # A static setting, known once the driver answers: the cluster starts its own, the driver stays idle.
        pool_id, pid = starting_pool()
        cold = cluster(pool_id, {"spark.sql.ui.retainedExecutions": "50"})
        assert engine.driver(cold).pid != pid
        note = _running_note(spark_sdk, cold)
        assert f"Not from instance pool {pool_id}" in note and "spark_conf sets spark.sql.ui.retainedExecutions" in note
        _wait(lambda: spark_sdk.instance_pools.get(pool_id).stats.idle_count == 1, timeout=30)
        assert _cluster_marked(spark_dir, f"pool-{pool_id}-1") == [pid]  # back in its pool, untouched
    finally:
        _remove(spark_sdk, pools, created)


def test_notebook_runs_start_in_warm_kernels_one_each(
    spark_ws: LocalWorkspace, spark_sdk: WorkspaceClient, spark_cluster: str, notebook: Callable[[str], str]
) -> None:
    kernels = spark_ws.workspace.kernels
    assert kernels is not None
    # Before the notebook touches spark, its kernel has already imported the Connect client and pandas.
    path = notebook(
        "import os, sys\n"
        "warm = 'pyspark.sql.connect.session' in sys.modules and 'pandas' in sys.modules\n"
        "spark.range(1).createOrReplaceTempView('mine')\n"
        "dbutils.notebook.exit(f'{warm}:{os.getpid()}')\n"
    )
    pids = []
    for _ in range(2):
        _wait(lambda: kernels.idle_count() == 1, timeout=60)
        taken = kernels.taken
        run = run_task(spark_sdk, existing_cluster_id=spark_cluster, notebook_task=jobs.NotebookTask(path))
        warm, pid = notebook_result(spark_sdk, run).split(":")
        assert warm == "True" and kernels.taken == taken + 1
        pids.append(pid)
    assert pids[0] != pids[1]  # a kernel serves one run: never reused
