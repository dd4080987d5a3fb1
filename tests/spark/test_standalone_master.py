"""``spark.master`` in a cluster's ``spark_conf`` runs its work on an existing Spark cluster: here a Spark
standalone master and one worker started from the pyspark package, on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from airbricks.workspace.compute.spark.processes import free_port, port_open

from .conftest import CLUSTER, notebook_result, run_task, wait_cluster


def _start(install, log: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SPARK_HOME": str(install.spark_home), "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("SPARK_REMOTE", None)
    with open(log, "wb") as out:
        return subprocess.Popen(
            [str(install.spark_home / "bin" / "spark-class"), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _wait(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(port):
        assert proc.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, f"nothing listens on {port}: {log.read_text()[-2000:]}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def standalone(tmp_path_factory: pytest.TempPathFactory, spark_ws) -> Iterator[tuple[str, int]]:
    from airbricks.workspace.compute.spark.install import find_spark

    install = find_spark()
    logs = tmp_path_factory.mktemp("standalone")
    port, ui, worker_ui = free_port(), free_port(), free_port()
    master = _start(
        install,
        logs / "master.log",
        "org.apache.spark.deploy.master.Master",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--webui-port",
        str(ui),
    )
    worker = None
    try:
        _wait(port, master, logs / "master.log")
        worker = _start(
            install,
            logs / "worker.log",
            "org.apache.spark.deploy.worker.Worker",
            f"spark://127.0.0.1:{port}",
            "--host",
            "127.0.0.1",
            "--cores",
            "1",
            "--memory",
            "1g",
            "--webui-port",
            str(worker_ui),
        )
        _wait(worker_ui, worker, logs / "worker.log")
        yield f"spark://127.0.0.1:{port}", ui
    finally:
        for proc in (worker, master):
            if proc is not None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_a_cluster_with_spark_master_runs_on_the_standalone_cluster(
    spark_sdk: WorkspaceClient, standalone: tuple[str, int], notebook: Callable[[str], str]
) -> None:
    master_url, ui = standalone
    cluster_id = spark_sdk.clusters.create(
        cluster_name="on-standalone", spark_conf={"spark.master": master_url}, **CLUSTER
    ).response.cluster_id
    try:
        wait_cluster(spark_sdk, cluster_id)
        path = notebook(
            "n = spark.range(1000).repartition(4).selectExpr('sum(id) AS s').first().s\ndbutils.notebook.exit(str(n))\n"
        )
        run = run_task(spark_sdk, existing_cluster_id=cluster_id, notebook_task=jobs.NotebookTask(path))
        assert notebook_result(spark_sdk, run) == "499500"
        state = json.load(urllib.request.urlopen(f"http://127.0.0.1:{ui}/json", timeout=10))
        apps = [app["name"] for app in state["activeapps"] + state["completedapps"]]
        assert f"airbricks cluster {cluster_id}" in apps, state  # the work ran as an app of that master
        assert state["workers"] and state["workers"][0]["coresused"] >= 1
    finally:
        spark_sdk.clusters.permanent_delete(cluster_id)
