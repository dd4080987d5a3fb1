"""Clusters as Spark drivers: tables outlive clusters and restarts, a killed driver, capacity, job clusters."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import compute, jobs
from databricks.sdk.service.workspace import ImportFormat, Language

from airbricks.workspace.compute.pool import DEFAULT_POOL
from airbricks.workspace.server.serve import LocalWorkspace
from secret_helpers import process_tree

from .conftest import CLUSTER, gone, notebook_result, run_task, spark_processes, wait_cluster


def _driver_pid(ws: LocalWorkspace, cluster_id: str) -> int:
    driver = ws.workspace.clusters.engine.driver(cluster_id)
    assert driver is not None
    return driver.pid


def test_a_table_written_on_one_cluster_is_read_on_another(
    spark_ws: LocalWorkspace, spark_sdk: WorkspaceClient, spark_cluster: str, notebook: Callable[[str], str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    writer = notebook(
        f"spark.sql('CREATE TABLE shared_{tag} USING parquet AS SELECT id, id * 2 AS twice FROM "
        f"range(4)')\ndbutils.notebook.exit('written')\n"
    )
    assert (
        notebook_result(
            spark_sdk, run_task(spark_sdk, existing_cluster_id=spark_cluster, notebook_task=jobs.NotebookTask(writer))
        )
        == "written"
    )
    reader = notebook(
        f"tables = [t.name for t in spark.catalog.listTables()]\n"
        f"assert 'shared_{tag}' in tables, tables\n"
        f"dbutils.notebook.exit(str(spark.table('shared_{tag}').selectExpr('sum(twice)').first()[0]))\n"
    )
    # A job cluster of its own: another driver, started for this run and stopped after it.
    run = run_task(spark_sdk, new_cluster=compute.ClusterSpec(**CLUSTER), notebook_task=jobs.NotebookTask(reader))
    assert notebook_result(spark_sdk, run) == "12"
    job_cluster = run.tasks[0].cluster_instance.cluster_id
    assert job_cluster != spark_cluster
    stopped = wait_cluster(spark_sdk, job_cluster, ("TERMINATED",), timeout=60)
    assert stopped.termination_reason.code.value == "JOB_FINISHED"
    deadline = time.monotonic() + 30
    while spark_ws.workspace.clusters.engine.driver(job_cluster) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert spark_ws.workspace.clusters.engine.report(job_cluster).state.value == "STOPPED"


def test_kill_9_of_a_driver_terminates_the_cluster_and_fails_its_run(
    spark_ws: LocalWorkspace, spark_sdk: WorkspaceClient, notebook: Callable[[str], str]
) -> None:
    cluster_id = spark_sdk.clusters.create(cluster_name="doomed-driver", **CLUSTER).response.cluster_id
    wait_cluster(spark_sdk, cluster_id)
    pid = _driver_pid(spark_ws, cluster_id)
    path = notebook("import time\nspark.range(1).collect()\ntime.sleep(120)\n")
    run_id = spark_sdk.jobs.submit(
        run_name="doomed",
        tasks=[jobs.SubmitTask(task_key="t", existing_cluster_id=cluster_id, notebook_task=jobs.NotebookTask(path))],
    ).response.run_id
    deadline = time.monotonic() + 60
    while spark_sdk.jobs.get_run(run_id).state.life_cycle_state.value != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    cluster = wait_cluster(spark_sdk, cluster_id, ("TERMINATED",), timeout=30)
    assert cluster.termination_reason.code.value == "DRIVER_UNREACHABLE"
    assert "exited" in cluster.state_message
    deadline = time.monotonic() + 30
    while (run := spark_sdk.jobs.get_run(run_id)).state.life_cycle_state.value not in ("TERMINATED", "INTERNAL_ERROR"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert run.state.life_cycle_state.value == "INTERNAL_ERROR"
    assert f"Cluster {cluster_id} was terminated. Reason: DRIVER_UNREACHABLE" in run.tasks[0].state.state_message
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[-1][:3]
    spark_sdk.clusters.permanent_delete(cluster_id)


def _java_options(pid: int) -> list[str]:
    return [a for a in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0") if a.startswith("-XX:")]


def test_tables_survive_a_restart_of_the_workspace_and_the_second_start_maps_the_first_ones_classes(
    tmp_path: Path,
) -> None:
    """Also the class-data archives, with a cache of the test's own: the first workspace's driver and metastore
    archive their classes before the cluster is RUNNING; the restarted workspace's JVMs start from them."""
    data_dir, cache = tmp_path / "restarting", tmp_path / "jvm-classes"
    settings = {"spark": True, "cluster_start_seconds": 0, "cluster_stop_seconds": 0, "spark_class_cache": cache}
    for step in ("write", "read"):
        with LocalWorkspace(data_dir, **settings) as ws:
            # The metastore starts with the server, so the first cluster's start is a driver start only. (Counting
            # processes here would race: the restarted workspace is relaunching the cluster that was RUNNING when
            # it stopped, and spark-submit's launcher JVM lives briefly beside each driver.)
            engine = ws.workspace.clusters.engine
            started = engine._metastore._proc if engine._metastore is not None else None
            assert started is not None and started.pid in spark_processes(data_dir.resolve() / "spark")
            sdk = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")
            cluster_id = sdk.clusters.create(cluster_name=step, **CLUSTER).response.cluster_id
            wait_cluster(sdk, cluster_id)
            driver_options = _java_options(engine.driver(cluster_id).pid)
            metastore_options = _java_options(engine._metastore._proc.pid)
            archives = sorted(p.name.split("-")[0] for p in cache.glob("*.jsa"))
            assert archives == ["driver", "metastore"] and not list(cache.glob("*.pending"))
            if step == "write":
                assert (
                    "-XX:+RecordDynamicDumpInfo" in driver_options and "-XX:+RecordDynamicDumpInfo" in metastore_options
                )
            else:
                assert f"-XX:SharedArchiveFile={next(cache.glob('driver-*.jsa'))}" in driver_options
                assert f"-XX:SharedArchiveFile={next(cache.glob('metastore-*.jsa'))}" in metastore_options
            sdk.workspace.mkdirs("/Shared/restart")
            source = (
                "spark.range(7).write.saveAsTable('kept')\ndbutils.notebook.exit('ok')"
                if step == "write"
                else "dbutils.notebook.exit(str(spark.table('kept').count()))"
            )
            sdk.workspace.upload(
                f"/Shared/restart/{step}",
                f"# Databricks notebook source\n{source}\n".encode(),
                format=ImportFormat.SOURCE,
                language=Language.PYTHON,
            )
            run = run_task(
                sdk, existing_cluster_id=cluster_id, notebook_task=jobs.NotebookTask(f"/Shared/restart/{step}")
            )
            assert notebook_result(sdk, run) == ("ok" if step == "write" else "7")
        assert spark_processes(data_dir.resolve() / "spark") == []


def test_a_driver_beyond_capacity_fails_the_launch(
    spark_ws: LocalWorkspace, spark_sdk: WorkspaceClient, spark_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = spark_ws.workspace.clusters.engine
    monkeypatch.setattr(engine, "max_drivers", 1)  # the shared cluster already holds the only place
    # Its environment differs from the default pool's idle driver: it needs a driver of its own, and the idle one
    # is the first to go to make room (not enough here).
    cluster_id = spark_sdk.clusters.create(
        cluster_name="no-room", spark_env_vars={"NO_ROOM": "1"}, **CLUSTER
    ).response.cluster_id
    cluster = wait_cluster(spark_sdk, cluster_id, ("TERMINATED",), timeout=30)
    idle = engine.pool_stats(DEFAULT_POOL)
    assert idle.idle_count + idle.pending_idle_count == 0
    assert cluster.termination_reason.code.value == "CLOUD_PROVIDER_RESOURCE_STOCKOUT"
    assert cluster.termination_reason.type.value == "CLOUD_FAILURE"
    assert "at most 1 Spark drivers" in cluster.state_message
    spark_sdk.clusters.permanent_delete(cluster_id)


def test_serve_with_spark_on_and_no_java_refuses_naming_the_fix(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    java_dir = str(Path(shutil.which("java") or "/nonexistent/java").resolve().parent)
    path = os.pathsep.join(
        p
        for p in os.environ["PATH"].split(os.pathsep)
        if p and Path(p).resolve() != Path(java_dir) and not (Path(p) / "java").exists()
    )
    done = subprocess.run(
        [sys.executable, "-m", "airbricks.cli", "serve", "--spark", "on", "--data-dir", str(tmp_path / "ws")],
        env={**os.environ, "PATH": path, "JAVA_HOME": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Java is not installed: Spark needs a Java 17+ runtime on PATH" in done.stderr


def _warm_kernels(server_pid: int) -> list[int]:
    return [
        pid
        for pid in process_tree(server_pid)
        if b"kernel.task\0--warm" in _cmdline(pid)  # python -m airbricks.workspace.kernel.task --warm
    ]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if not gone(pid)]


def _settled_count(spark_dir: Path, wanted: int, timeout: float = 90) -> int:
    """How many processes the workspace owns once it is ``wanted`` for 2 s in a row (a JVM being launched briefly
    has more marked processes: setpriv, spark-submit's launcher), or at the timeout."""
    deadline, since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if len(spark_processes(spark_dir)) != wanted:
            since = None
        elif since is None:
            since = time.monotonic()
        elif time.monotonic() - since >= 2:
            return wanted
        time.sleep(0.2)
    return len(spark_processes(spark_dir))


def test_kill_9_of_the_server_leaves_no_spark_process_and_a_restart_brings_the_cluster_back(
    tmp_path: Path, serve_process
) -> None:
    data = tmp_path / "killed"
    server = serve_process(data, "--spark", "on", "--token", "dapi-kill9")
    sdk = WorkspaceClient(host=server.url, token="dapi-kill9", auth_type="pat")
    cluster_id = sdk.clusters.create(cluster_name="outlived", **CLUSTER).response.cluster_id
    wait_cluster(sdk, cluster_id)
    spark_dir = data.resolve() / "spark"
    # the cluster's driver, the default pool's idle one (started 10 s after the cluster took the first), the metastore
    assert _settled_count(spark_dir, 3) == 3
    kernels = _warm_kernels(server.proc.pid)
    assert len(kernels) == 1  # the warm kernel waiting for a run
    server.kill9()
    deadline = time.monotonic() + 30
    while (spark_processes(spark_dir) or _alive(kernels)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert spark_processes(spark_dir) == []  # they died with the server (no shutdown code ran)
    assert _alive(kernels) == []
    server = serve_process(data, "--spark", "on", "--token", "dapi-kill9")
    sdk = WorkspaceClient(host=server.url, token="dapi-kill9", auth_type="pat")
    assert sdk.clusters.get(cluster_id).state.value in ("RESTARTING", "RUNNING")
    wait_cluster(sdk, cluster_id)
    events = [e.type.value for e in sdk.clusters.events(cluster_id)]
    assert "RESTARTING" in events
    sdk.clusters.permanent_delete(cluster_id)
    assert _settled_count(spark_dir, 2) == 2  # the deleted cluster's driver is gone; the metastore, the idle one stay
