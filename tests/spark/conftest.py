"""One Spark-backed local workspace for the session, one shared all-purpose cluster, real clients.

Starting a driver costs seconds and a JVM, so the tests share one cluster unless a test is about a start, a
death or a second cluster. Skipped as a whole (and said so) only where pyspark or Java is missing; CI installs
both, so there the whole suite runs.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ImportFormat, Language

from airbricks.workspace.server.serve import LocalWorkspace

CLUSTER: dict[str, Any] = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1}
TERMINAL = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")


def spark_processes(spark_dir: Path) -> list[int]:
    """Live processes carrying this workspace's Spark marker (drivers, the metastore)."""
    from airbricks.workspace.compute.spark.processes import owned_processes

    return owned_processes(spark_dir)


def gone(pid: int) -> bool:
    """Whether the process has ended (a zombie waiting for its reaper has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return True


def require_spark() -> None:
    """Skip without pyspark and Java 17+, except on CI, which installs both: a missing piece there fails."""
    from airbricks.workspace.compute.spark.install import SparkNotAvailable, find_spark

    try:
        find_spark()
    except SparkNotAvailable as missing:
        if os.environ.get("CI"):
            pytest.fail(f"Spark tests need pyspark and Java 17+: {missing}")
        pytest.skip(f"Spark tests need pyspark and Java 17+: {missing}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failed test that used the session workspace reports its drivers, metastore and threads' stacks."""
    outcome = yield
    report = outcome.get_result()
    ws = getattr(item, "funcargs", {}).get("spark_ws")
    if report.failed and ws is not None:
        from airbricks.workspace.compute.spark.engine import SparkEngine

        from .diagnostics import thread_stacks, workspace_state

        engine = ws.workspace.clusters.engine
        if isinstance(engine, SparkEngine):
            report.sections.append(("workspace state", workspace_state(engine)))
        report.sections.append(("threads", thread_stacks()))


@pytest.fixture(scope="session")
def spark_ws(session_dir: Path) -> Iterator[LocalWorkspace]:
    require_spark()
    from airbricks.testing import local_workspace

    # The testing kit's workspace (what users get with airbricks_spark = on), a second one beside the plugin's;
    # its HTTPS listener is what the SQL connector tests reach. Its default pool keeps a warm driver for clusters
    # naming no pool (the session cluster takes it: these tests are not about a cold start), hence one more driver.
    with local_workspace(
        session_dir / "spark-workspace",
        spark=True,
        cluster_start_seconds=0,
        cluster_stop_seconds=0,
        max_spark_drivers=5,
        spark_default_pool=1,
        warm_kernels=1,
        tls=True,
    ) as testing_ws:
        ws = testing_ws.server
        yield ws
    assert spark_processes(ws.workspace.data_dir / "spark") == []  # nothing outlives the workspace


@pytest.fixture(scope="session")
def spark_sdk(spark_ws: LocalWorkspace) -> WorkspaceClient:
    return WorkspaceClient(host=spark_ws.url, token=spark_ws.token, auth_type="pat")


def wait_cluster(
    sdk: WorkspaceClient, cluster_id: str, states: tuple[str, ...] = ("RUNNING",), timeout: float = 180
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        cluster = sdk.clusters.get(cluster_id)
        if cluster.state.value in states:
            return cluster
        assert cluster.state.value not in ("TERMINATED", "ERROR") or "TERMINATED" in states, (
            f"{cluster_id} ended {cluster.state}: {cluster.state_message}"
        )
        assert time.monotonic() < deadline, f"{cluster_id} still {cluster.state} after {timeout}s"
        time.sleep(0.2)


@pytest.fixture(scope="session")
def spark_cluster(spark_sdk: WorkspaceClient) -> Iterator[str]:
    cluster_id = spark_sdk.clusters.create(cluster_name="spark-tests", **CLUSTER).response.cluster_id
    wait_cluster(spark_sdk, cluster_id)
    yield cluster_id
    spark_sdk.clusters.permanent_delete(cluster_id)


@pytest.fixture
def notebook(spark_sdk: WorkspaceClient) -> Callable[[str], str]:
    def upload(source: str) -> str:
        path = f"/Shared/spark-tests/{uuid.uuid4().hex[:10]}"
        spark_sdk.workspace.mkdirs("/Shared/spark-tests")
        spark_sdk.workspace.upload(
            path,
            f"# Databricks notebook source\n{source}".encode(),
            format=ImportFormat.SOURCE,
            language=Language.PYTHON,
            overwrite=True,
        )
        return path

    return upload


def run_task(sdk: WorkspaceClient, timeout: float = 180, **task: Any) -> jobs.Run:
    """Submit one task and wait for it to end; returns the run."""
    run_id = sdk.jobs.submit(run_name="spark-test", tasks=[jobs.SubmitTask(task_key="t", **task)]).response.run_id
    deadline = time.monotonic() + timeout
    while True:
        run = sdk.jobs.get_run(run_id)
        if run.state.life_cycle_state.value in TERMINAL:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run.state} after {timeout}s"
        time.sleep(0.1)


def notebook_result(sdk: WorkspaceClient, run: jobs.Run) -> str:
    output = sdk.jobs.get_run_output(run.tasks[0].run_id)
    assert output.error is None, f"{output.error}\n{output.error_trace}"
    return output.notebook_output.result


@pytest.fixture(scope="session")
def spark_warehouse(spark_sdk: WorkspaceClient) -> Iterator[str]:
    """One SQL warehouse for the session (its own Spark Connect driver, sharing the clusters' metastore)."""
    import datetime

    warehouse = spark_sdk.warehouses.create_and_wait(
        name="spark-tests-sql", cluster_size="2X-Small", auto_stop_mins=0, timeout=datetime.timedelta(minutes=5)
    )
    yield warehouse.id
    spark_sdk.warehouses.delete(warehouse.id)
