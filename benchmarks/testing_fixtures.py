"""What the testing kit's fixtures cost (issue 18): first use in a session, and each test after that.

Each measurement runs in a fresh interpreter, as a CI job would:

* plugin load: ``import airbricks.testing.plugin`` on top of ``import pytest`` (every pytest run where
  airbricks is installed pays this);
* first use, broken down: the local workspace's start, ``airflow db migrate`` plus the bundle sync, and the
  first ``run_dag`` of a one-task DAG (Airflow's imports and the DAG's serialization land here);
* each test after that: the isolation (snapshot before, running-cluster check and reset after) of an empty
  test and of a test that made a cluster, a run and three files (the test's own calls not counted); a warm
  ``run_dag`` of a one-task DAG;
* end to end with pytest: a user project of 1 and of 1 + N tests using ``local_workspace`` (Spark off), the
  least of three runs each; the difference divided by N is the per-test cost as pytest sees it.

Prints a table (median of ``--repeat`` runs for the in-process figures). Usage:
``python benchmarks/testing_fixtures.py [--repeat 5] [--tests 20]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe as describe_machine

IN_PROCESS = textwrap.dedent("""
    import datetime, json, statistics, sys, tempfile, time
    from pathlib import Path
    from airbricks.testing.airflow_env import AirflowEnvironment
    home = Path(tempfile.mkdtemp(prefix="bench-airflow-"))
    env = AirflowEnvironment(home).activate()
    from airbricks.testing import local_workspace
    figures = {}
    t = time.perf_counter()
    ws = local_workspace().start()
    figures["workspace start"] = time.perf_counter() - t
    env.connect(ws.connection_uri)
    t = time.perf_counter()
    import airflow.models.dag, airflow.utils.db
    figures["airflow import"] = time.perf_counter() - t
    t = time.perf_counter()
    env.migrate()
    figures["airflow db migrate + bundle sync"] = time.perf_counter() - t

    def make_dag(n):
        from airflow.sdk import DAG, task
        with DAG(dag_id=f"bench_{n}", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
            @task
            def one():
                return 1
            one()
        return dag

    t = time.perf_counter()
    assert env.run_dag(make_dag(0)).state == "success"
    figures["first run_dag (one task)"] = time.perf_counter() - t
    runs, empty, busy = [], [], []
    for n in range(1, REPEAT + 1):
        t = time.perf_counter()
        assert env.run_dag(make_dag(n)).state == "success"
        runs.append(time.perf_counter() - t)
        t = time.perf_counter()
        before = ws.snapshot(); ws.running_clusters(before); ws.reset(before)
        empty.append(time.perf_counter() - t)
        t = time.perf_counter()
        before = ws.snapshot()
        snapshot_seconds = time.perf_counter() - t
        client = ws.client()
        cluster = client.clusters.create(cluster_name="b", spark_version="15.4.x-scala2.12",
                                         node_type_id="i3.xlarge", num_workers=0).response.cluster_id
        ws.upload_notebooks(NOTEBOOKS, "/Workspace/Shared/bench")
        ws.land_file("dbfs:/bench/a.csv", "a\\n1\\n")
        ws.create_volume("main.default.bench")
        ws.land_file("/Volumes/main/default/bench/b.csv", "b\\n2\\n")
        from databricks.sdk.service import jobs
        client.jobs.submit(run_name="b", tasks=[jobs.SubmitTask(task_key="t", existing_cluster_id=cluster,
            notebook_task=jobs.NotebookTask(notebook_path="/Shared/bench/nb"))])
        t = time.perf_counter()
        left = ws.running_clusters(before); ws.reset(before)
        busy.append(snapshot_seconds + time.perf_counter() - t)
        assert [c["cluster_id"] for c in left] == [cluster]
    figures["run_dag after the first (one task)"] = statistics.median(runs)
    figures["isolation, empty test"] = statistics.median(empty)
    figures["isolation, test with cluster+run+3 files"] = statistics.median(busy)
    ws.stop(); env.deactivate()
    print("FIGURES " + json.dumps(figures))
""")

USER_TEST = textwrap.dedent("""
    def test_{n}(local_workspace):
        assert local_workspace.url.startswith("http://")
""")


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST_"))}


def in_process(repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        notebooks = Path(tmp) / "notebooks"
        notebooks.mkdir()
        (notebooks / "nb.py").write_text("# Databricks notebook source\ndbutils.notebook.exit('ok')\n")
        script = f"REPEAT = {repeat}\nNOTEBOOKS = {str(notebooks)!r}\n" + IN_PROCESS
        done = subprocess.run(
            [sys.executable, "-c", script], env=clean_env(), capture_output=True, text=True, timeout=900
        )
    line = [x for x in done.stdout.splitlines() if x.startswith("FIGURES ")]
    if done.returncode != 0 or not line:
        raise SystemExit(f"in-process benchmark failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return json.loads(line[0][len("FIGURES ") :])


def plugin_load(repeat: int) -> float:
    """Seconds to import the plugin once pytest is imported (median over fresh interpreters)."""
    code = (
        "import time, pytest; t = time.perf_counter(); import airbricks.testing.plugin; print(time.perf_counter() - t)"
    )
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], check=True, env=clean_env(), capture_output=True, text=True
            ).stdout
        )
        for _ in range(repeat)
    ]
    return statistics.median(samples)


def pytest_session(tests: int) -> float:
    """Wall time of ``pytest`` over a user project with ``tests`` tests that use the workspace."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "pytest.ini").write_text("[pytest]\n")
        (Path(tmp) / "test_user.py").write_text("".join(USER_TEST.format(n=n) for n in range(tests)))
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=tmp,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
        elapsed = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"pytest run failed:\n{done.stdout[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tests", type=int, default=20)
    args = parser.parse_args()

    plugin = plugin_load(args.repeat)
    figures = in_process(args.repeat)
    # The least of three runs each: the machine is shared, and the least is the one least disturbed.
    one = min(pytest_session(1) for _ in range(3))
    many = min(pytest_session(1 + args.tests) for _ in range(3))

    print(f"machine: {describe_machine()}")
    print(f"{'what':58} {'seconds':>9}")
    rows = [("plugin load (import after pytest's own)", plugin)]
    rows += [
        (f"first use: {name}", value)
        for name, value in figures.items()
        if not name.startswith(("run_dag after", "isolation"))
    ]
    rows += [
        (f"per test: {name}", value)
        for name, value in figures.items()
        if name.startswith(("run_dag after", "isolation"))
    ]
    rows += [
        ("pytest, 1 workspace test (whole process)", one),
        (f"pytest, per test after the first ({args.tests} more)", (many - one) / args.tests),
    ]
    for name, value in rows:
        print(f"{name:58} {value:9.3f}")


if __name__ == "__main__":
    main()
