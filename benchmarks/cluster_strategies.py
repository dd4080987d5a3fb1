"""Cluster strategies (issue 6, the seed's headline): a job cluster per task, one all-purpose cluster, a shared
job cluster - wall time, cluster-seconds, DBUs and cost, measured on the local workspace with real Airflow.

Time is scaled: one scaled second stands for one real minute, so ``--start 5`` is a 5-minute cluster start
and ``--job 5`` a 5-minute notebook (``time.sleep(J)`` on the cluster).  Every strategy is a real Airflow DAG
run with ``dag.test()`` against a :class:`~airbricks.workspace.server.serve.LocalWorkspace` started in this process:

* ``a`` N x the official ``DatabricksSubmitRunOperator(new_cluster=...)``: a new job cluster per task.
* ``b`` airbricks ``DatabricksCreateClusterOperator`` -> N x ``DatabricksSubmitRunOperator(existing_cluster_id=``
  the create task's XCom ``)`` -> ``DatabricksDeleteClusterOperator``: one all-purpose cluster.
* ``c`` the official ``DatabricksWorkflowTaskGroup(job_clusters=[...])`` with N ``DatabricksNotebookOperator``
  tasks: one job cluster shared by all tasks of one Databricks job run.

Cluster-seconds come from the workspace's usage records (``GET /api/2.0/airbricks/clusters``: every cluster ever
created, its compute type and its time in RUNNING/RESIZING/RESTARTING), not from the benchmark's assumptions.
DBUs = up-hours x DBU/hour per node x (workers + driver); cost = DBUs x the compute type's list price per DBU.

Overheads.  ``dag.test()`` runs each task through Airflow's task runner, which costs real (unscaled) seconds per
task; the same DAG shape made of no-op tasks is timed first (``airflow baseline``).  What is left once the
cluster starts and the notebooks on the critical path and the Airflow baseline are taken off the wall time is
``overhead``: polling granularity, the local workspace's run launch, and the operators' own API calls, reported
per task on the critical path.  For strategy ``b`` the airbricks operators are also measured directly: the
create task's duration minus its cluster's PENDING->RUNNING time, and the delete task's duration.

Shapes: ``sequential`` (a chain of N jobs) is the default and the seed's shape, run with ``dag.test()``.
``parallel`` (N independent job tasks once the cluster is up) cannot be run with ``dag.test()``, which runs
ready tasks one after the other: it runs on a real Airflow deployment (``_deployment.py``: scheduler,
triggerer, dag-processor and api-server as subprocesses, LocalExecutor with ``--parallelism`` (8) slots,
SQLite metadata DB) whose DAGS_FOLDER holds the same DAGs built by :func:`build_dag`.  There the wall time is
the DAG run's ``start_date`` -> ``end_date`` in the metadata DB, and the Airflow baseline is the same parallel
graph of no-op tasks run through the same deployment: the scheduler's loop, the executor's slots and each
task process's start and DAG parse, all in real (unscaled) seconds.

The provider's workflow launch task polls its run every 5 s (a literal ``time.sleep(5)``); in scaled time that
would be 5 minutes, so it is scaled like every other duration (5 s -> 5/60 s).

Real drivers (``--spark``): the workspace runs with Spark, every cluster start is a real Spark Connect driver
start (``S`` is then measured, not set) and time is not scaled (``--job`` and ``--poll`` are real seconds);
each job also runs a small Spark query through its own Connect session. Sequential shape only.

Usage: python benchmarks/cluster_strategies.py [--start 5] [--job 5] [--jobs 4] [--shapes sequential,parallel]
       [--sweep 0.1,0.5,1,2,5 --sweep-start 2 --sweep-jobs 2] [--plot benchmarks/plots/cluster_strategies.png]
       python benchmarks/cluster_strategies.py --spark [--job 10] [--jobs 4] [--poll 1]
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/ is not a package
from _machine import describe

HERE = Path(__file__).resolve().parent

if TYPE_CHECKING:
    from _deployment import AirflowDeployment

    from airbricks.workspace.server.serve import LocalWorkspace

# This module is also imported by the parallel shape's DAG file (in the dag-processor and every task process):
# importing it must not touch the environment; main() does that.

NOTEBOOK_PATH = "/Shared/airbricks-bench/sleep"
NOTEBOOK = (
    "# Databricks notebook source\nimport time\nif dbutils.widgets.get('spark') == '1':\n"
    "    spark.range(1000).count()\ntime.sleep(float(dbutils.widgets.get('seconds')))\n"
)
#: One scaled second stands for one real minute (``--spark``: 1, time is real).
SECONDS_PER_SCALED_SECOND = 60.0
#: ``--spark``: clusters are real Spark drivers and the jobs touch Spark.
REAL_SPARK = False
STRATEGIES = {
    "a": "a: job cluster per task (official SubmitRun new_cluster)",
    "b": "b: one all-purpose cluster (airbricks create/delete)",
    "c": "c: shared job cluster (official WorkflowTaskGroup)",
}


@dataclass
class Prices:
    jobs: float  # $ per DBU, Jobs Compute
    all_purpose: float  # $ per DBU, All-Purpose Compute
    dbu_per_node_hour: float

    def rate(self, compute_type: str) -> float:
        return self.jobs if compute_type == "JOBS" else self.all_purpose


@dataclass
class Result:
    strategy: str
    shape: str
    n: int
    start: float
    job: float
    wall: float
    baseline: float
    starts: int
    start_cp: float  # cluster start time on the critical path (scaled s)
    job_cp: float  # notebook time on the critical path (scaled s)
    tasks_cp: int  # Airflow tasks on the critical path
    seconds_by_type: dict[str, float] = field(default_factory=dict)
    dbus: float = 0.0
    cost: float = 0.0
    airbricks_ops: dict[str, float] = field(default_factory=dict)
    ok: bool = True

    @property
    def overhead(self) -> float:
        return self.wall - self.start_cp - self.job_cp - self.baseline

    @property
    def real_minutes(self) -> float:
        """Wall time in real minutes: scaled seconds stand for minutes; Airflow's own seconds are not scaled."""
        return ((self.wall - self.baseline) * SECONDS_PER_SCALED_SECOND + self.baseline) / 60


# ---------------------------------------------------------------------------------------------- set-up
def private_airflow_home() -> Path:
    """A fresh temp dir as AIRFLOW_HOME for the in-process ``dag.test()`` runs; before Airflow is imported."""
    tmp = Path(tempfile.mkdtemp(prefix="airbricks-bench-strategies-"))
    os.environ["AIRFLOW_HOME"] = str(tmp / "airflow")
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "False"
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{tmp / 'airflow' / 'airflow.db'}"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(tmp / "dags")
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    warnings.filterwarnings("ignore")  # Airflow/provider deprecation chatter would bury the tables
    return tmp


def prepare_airflow(tmp: Path) -> None:
    (tmp / "dags").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBundlesManager().sync_bundles_to_db()


def scale_provider_launch_poll() -> None:
    """The workflow launch's literal ``time.sleep(5)``, scaled like every other duration (see the docstring)."""
    import types

    from airflow.providers.databricks.operators import databricks_workflow

    real_sleep = time.sleep
    databricks_workflow.time = types.SimpleNamespace(  # type: ignore[attr-defined]
        **{k: getattr(time, k) for k in dir(time) if not k.startswith("_")}
    )
    databricks_workflow.time.sleep = lambda s: real_sleep(s / SECONDS_PER_SCALED_SECOND)


class Api:
    def __init__(self, ws: LocalWorkspace) -> None:
        self.base = ws.url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {ws.token}"

    def call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        resp = self.session.request(method, f"{self.base}/api/{path}", timeout=30, **kw)
        resp.raise_for_status()
        return resp.json() if resp.content else {}

    def usage(self) -> list[dict[str, Any]]:
        return self.call("GET", "2.0/airbricks/clusters")["clusters"]


def upload_notebook(post: Callable[[str, dict[str, Any]], Any]) -> None:
    """The sleeping notebook every job runs; ``post(path under /api/, body)``."""
    post("2.0/workspace/mkdirs", {"path": "/Shared/airbricks-bench"})
    post(
        "2.0/workspace/import",
        {
            "path": NOTEBOOK_PATH,
            "format": "SOURCE",
            "language": "PYTHON",
            "overwrite": True,
            "content": base64.b64encode(NOTEBOOK.encode()).decode(),
        },
    )


# ---------------------------------------------------------------------------------------------- DAGs
def cluster_spec(workers: int) -> dict[str, Any]:
    return {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": workers}


def build_dag(
    dag_id: str, strategy: str, shape: str, n: int, job: float, poll: float, workers: int, noop: bool = False
):
    """The strategy's DAG; with ``noop`` the same task graph made of no-op Python tasks (the Airflow baseline)."""
    from airflow.sdk import DAG, chain

    def noop_task(task_id: str):
        from airflow.providers.standard.operators.python import PythonOperator

        return PythonOperator(task_id=task_id, python_callable=lambda: None)

    params = {"seconds": str(job), "spark": "1" if REAL_SPARK else "0"}
    dag = DAG(dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)
    with dag:
        if strategy == "a":
            from airflow.providers.databricks.operators.databricks import (
                DatabricksSubmitRunOperator,
            )

            jobs = [
                noop_task(f"job_{i}")
                if noop
                else DatabricksSubmitRunOperator(
                    task_id=f"job_{i}",
                    polling_period_seconds=poll,
                    json={
                        "run_name": f"{dag_id}-{i}",
                        "new_cluster": cluster_spec(workers),
                        "notebook_task": {"notebook_path": NOTEBOOK_PATH, "base_parameters": params},
                    },
                )
                for i in range(n)
            ]
            if shape == "sequential":
                chain(*jobs)
        elif strategy == "b":
            from airflow.providers.databricks.operators.databricks import (
                DatabricksSubmitRunOperator,
            )

            from airbricks.operators.cluster_delete import DatabricksDeleteClusterOperator
            from airbricks.operators.clusters import DatabricksCreateClusterOperator

            if noop:
                create, delete = noop_task("create_cluster"), noop_task("delete_cluster")
                jobs = [noop_task(f"job_{i}") for i in range(n)]
            else:
                create = DatabricksCreateClusterOperator(
                    task_id="create_cluster",
                    poll_interval=poll,
                    cluster_spec={**cluster_spec(workers), "cluster_name": dag_id, "autotermination_minutes": 30},
                )
                jobs = [
                    DatabricksSubmitRunOperator(
                        task_id=f"job_{i}",
                        polling_period_seconds=poll,
                        json={
                            "run_name": f"{dag_id}-{i}",
                            "existing_cluster_id": create.output,
                            "notebook_task": {"notebook_path": NOTEBOOK_PATH, "base_parameters": params},
                        },
                    )
                    for i in range(n)
                ]
                delete = DatabricksDeleteClusterOperator(task_id="delete_cluster", cluster_id=create.output)
            if shape == "sequential":
                chain(create, *jobs, delete)
            else:
                create >> jobs >> delete
        else:
            from airflow.providers.databricks.operators.databricks import (
                DatabricksNotebookOperator,
            )
            from airflow.providers.databricks.operators.databricks_workflow import (
                DatabricksWorkflowTaskGroup,
            )

            if noop:
                launch = noop_task("launch")
                jobs = [noop_task(f"job_{i}") for i in range(n)]
                if shape == "sequential":
                    chain(launch, *jobs)
                else:
                    launch >> jobs
            else:
                with DatabricksWorkflowTaskGroup(
                    group_id="workflow",
                    databricks_conn_id="databricks_default",
                    job_clusters=[{"job_cluster_key": "shared", "new_cluster": cluster_spec(workers)}],
                ):
                    jobs = [
                        DatabricksNotebookOperator(
                            task_id=f"job_{i}",
                            notebook_path=NOTEBOOK_PATH,
                            source="WORKSPACE",
                            job_cluster_key="shared",
                            notebook_params=params,
                            polling_period_seconds=poll,
                        )
                        for i in range(n)
                    ]
                    if shape == "sequential":
                        chain(*jobs)
    return dag


def sync(dag) -> None:
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    bag = DagBag(dag_folder=os.devnull)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)


def run_dag(dag, shape: str):
    """``dag.test()``: ready tasks run one after the other (see the module docstring on the parallel shape)."""
    sync(dag)
    return dag.test()


# ---------------------------------------------------------------------------------------------- measuring
def first(transitions: list[dict[str, Any]], state: str) -> int | None:
    return next((t["timestamp"] for t in transitions if t["state"] == state), None)


@dataclass
class TaskTimes:
    """One task instance's outcome, whether it comes from ``dag.test()``'s ORM objects or the metadata DB."""

    state: str
    start_date: datetime.datetime | None
    end_date: datetime.datetime | None


def _state(value: Any) -> str:
    return str(getattr(value, "value", value))


def account(
    strategy: str,
    shape: str,
    n: int,
    start: float,
    job: float,
    wall: float,
    baseline: float,
    clusters: list[dict[str, Any]],
    tis: dict[str, TaskTimes],
    ok: bool,
    prices: Prices,
) -> Result:
    """The row: the critical path's cluster starts and notebooks, and cost from the workspace's records."""
    start_times = []
    for c in clusters:
        running = first(c["transitions"], "RUNNING")
        if running is not None:
            start_times.append((running - c["created_time"]) / 1000)
    start_cp = sum(start_times) if strategy == "a" and shape == "sequential" else max(start_times, default=0.0)
    job_cp = job * (n if shape == "sequential" else 1)
    tasks_cp = {
        "a": n if shape == "sequential" else 1,
        "b": (n if shape == "sequential" else 1) + 2,
        "c": (n if shape == "sequential" else 1) + 1,
    }[strategy]

    if REAL_SPARK and start_times:  # S is what the drivers took
        start = sorted(start_times)[len(start_times) // 2]
    result = Result(strategy, shape, n, start, job, wall, baseline, len(clusters), start_cp, job_cp, tasks_cp, ok=ok)
    for c in clusters:
        nodes = (c["num_workers"] or 0) + 1
        dbus = c["running_seconds"] * SECONDS_PER_SCALED_SECOND / 3600 * prices.dbu_per_node_hour * nodes
        result.seconds_by_type[c["compute_type"]] = (
            result.seconds_by_type.get(c["compute_type"], 0.0) + c["running_seconds"]
        )
        result.dbus += dbus
        result.cost += dbus * prices.rate(c["compute_type"])
    if strategy == "b" and clusters:
        c = clusters[0]
        cluster_start = (first(c["transitions"], "RUNNING") - c["created_time"]) / 1000
        create, delete = tis.get("create_cluster"), tis.get("delete_cluster")
        if create is not None and create.start_date and create.end_date:
            result.airbricks_ops["create (task - cluster start)"] = (
                create.end_date - create.start_date
            ).total_seconds() - cluster_start
        if delete is not None and delete.start_date and delete.end_date:
            result.airbricks_ops["delete (task)"] = (delete.end_date - delete.start_date).total_seconds()
    return result


def measure(
    api: Api,
    strategy: str,
    shape: str,
    n: int,
    start: float,
    job: float,
    poll: float,
    workers: int,
    prices: Prices,
    baseline: float,
    tag: str,
) -> Result:
    """One strategy with ``dag.test()`` (sequential shape)."""
    dag_id = f"bench_{strategy}_{shape}_{tag}"
    dag = build_dag(dag_id, strategy, shape, n, job, poll, workers)
    before = {c["cluster_id"] for c in api.usage()}
    sync(dag)
    t0 = time.perf_counter()
    dag_run = run_dag(dag, shape)
    wall = time.perf_counter() - t0
    time.sleep(0.3)  # let the last job cluster finish terminating, so its record is final
    clusters = [c for c in api.usage() if c["cluster_id"] not in before]
    tis = {
        ti.task_id.split(".")[-1]: TaskTimes(_state(ti.state), ti.start_date, ti.end_date)
        for ti in dag_run.get_task_instances()
    }
    ok = _state(dag_run.state) == "success" and all(ti.state == "success" for ti in tis.values())
    return account(strategy, shape, n, start, job, wall, baseline, clusters, tis, ok, prices)


def time_baseline(strategy: str, shape: str, n: int, tag: str, repeat: int = 2) -> float:
    """Median wall time of the same task graph made of no-op tasks: Airflow's own cost in dag.test()."""
    walls = []
    for i in range(repeat):
        dag = build_dag(f"bench_noop_{strategy}_{shape}_{tag}_{i}", strategy, shape, n, 0, 0, 0, noop=True)
        sync(dag)
        t0 = time.perf_counter()
        run_dag(dag, shape)
        walls.append(time.perf_counter() - t0)
    return sorted(walls)[len(walls) // 2]


# ---------------------------------------------------------------------------------------------- parallel shape
PARALLEL_DAG_FILE = '''\
"""Airflow DAGs of cluster_strategies.py --shapes parallel: each strategy and its no-op twin (the baseline)."""
import sys

sys.path.insert(0, {here!r})
import cluster_strategies as _bench

_bench.scale_provider_launch_poll()  # in every task process: the workflow launch's time.sleep(5), scaled
for _dag in _bench.parallel_dags({strategies!r}, {n!r}, {job!r}, {poll!r}, {workers!r}):
    globals()[_dag.dag_id] = _dag
'''


def parallel_dag_id(strategy: str, noop: bool = False) -> str:
    return f"bench_parallel_{'noop_' if noop else ''}{strategy}"


def parallel_dags(strategies: list[str], n: int, job: float, poll: float, workers: int) -> list[Any]:
    """What the deployment's DAG file defines: :func:`build_dag`'s parallel DAGs, real and no-op."""
    return [
        build_dag(parallel_dag_id(s, noop), s, "parallel", n, job, poll, workers, noop=noop)
        for s in strategies
        for noop in (False, True)
    ]


def _db_time(value: Any) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(str(value)) if value else None


def run_deployed(
    dep: AirflowDeployment, dag_id: str, run_id: str, timeout: float = 600.0
) -> tuple[str, float, dict[str, TaskTimes]]:
    """Trigger a DAG run, wait for it; its state, wall time (DAG run start -> end in the DB) and its tasks."""
    dep.trigger(dag_id, run_id, datetime.datetime.now(datetime.timezone.utc))
    state = dep.wait_run(dag_id, run_id, timeout)
    [(started, ended)] = dep.query(
        "SELECT start_date, end_date FROM dag_run WHERE dag_id = ? AND run_id = ?", dag_id, run_id
    )
    wall = (_db_time(ended) - _db_time(started)).total_seconds()
    tis = {
        task_id.split(".")[-1]: TaskTimes(ti_state, _db_time(t0), _db_time(t1))
        for task_id, ti_state, t0, t1 in dep.query(
            "SELECT task_id, state, start_date, end_date FROM task_instance WHERE dag_id = ? AND run_id = ?",
            dag_id,
            run_id,
        )
    }
    return state, wall, tis


def time_baseline_deployed(dep: AirflowDeployment, strategy: str, tag: str, repeat: int = 2) -> float:
    """Median wall time of the strategy's parallel graph of no-op tasks on the same deployment."""
    walls = [run_deployed(dep, parallel_dag_id(strategy, noop=True), f"{tag}_{i}")[1] for i in range(repeat)]
    return sorted(walls)[len(walls) // 2]


def measure_deployed(
    dep: AirflowDeployment, strategy: str, n: int, start: float, job: float, prices: Prices, baseline: float, tag: str
) -> Result:
    """One strategy's parallel DAG run on the deployment, accounted like :func:`measure`."""

    def usage() -> list[dict[str, Any]]:
        return dep.ws("GET", "/api/2.0/airbricks/clusters")["clusters"]

    before = {c["cluster_id"] for c in usage()}
    state, wall, tis = run_deployed(dep, parallel_dag_id(strategy), f"{tag}_{strategy}")
    time.sleep(1.0)  # let the last job clusters finish terminating, so their records are final
    clusters = [c for c in usage() if c["cluster_id"] not in before]
    ok = state == "success" and len(tis) > 0 and all(ti.state == "success" for ti in tis.values())
    return account(strategy, "parallel", n, start, job, wall, baseline, clusters, tis, ok, prices)


def run_parallel(
    root: Path,
    strategies: list[str],
    n: int,
    start: float,
    job: float,
    poll: float,
    workers: int,
    parallelism: int,
    prices: Prices,
    repeat: int,
) -> list[Result]:
    """The parallel shape on a real deployment: warm-up, then per strategy its no-op baseline and its run."""
    from _deployment import AirflowDeployment

    files = {
        "bench_parallel.py": PARALLEL_DAG_FILE.format(
            here=str(HERE), strategies=strategies, n=n, job=job, poll=poll, workers=workers
        )
    }
    ids = [parallel_dag_id(s, noop) for s in strategies for noop in (False, True)]
    dep = AirflowDeployment(
        root, files, ids, parallelism=max(parallelism, n), cluster_start_seconds=start, cluster_stop_seconds=0.1
    )
    t0 = time.monotonic()
    results = []
    try:
        dep.start()
        print(
            f"  deployment ready in {time.monotonic() - t0:.0f} s (LocalExecutor, parallelism "
            f"{dep.parallelism}, AIRFLOW_HOME={dep.home})",
            flush=True,
        )
        upload_notebook(lambda path, body: dep.ws("POST", f"/api/{path}", json=body))
        run_deployed(dep, parallel_dag_id(strategies[0], noop=True), "warmup")  # first run: not counted
        for strategy in strategies:
            baseline = time_baseline_deployed(dep, strategy, f"noop_{strategy}", repeat)
            r = measure_deployed(dep, strategy, n, start, job, prices, baseline, "main")
            results.append(r)
            print(
                f"  ran {STRATEGIES[strategy]} parallel: wall {r.wall:.1f} s, baseline {baseline:.1f} s, "
                f"starts {r.starts}, ok={r.ok}",
                flush=True,
            )
    finally:
        dep.stop()
    return results


# ---------------------------------------------------------------------------------------------- output
def table(results: list[Result], prices: Prices) -> str:
    head = (
        "| strategy | shape | N | S | J | wall (s) | real wall (min) | cluster starts | JOBS s | "
        "ALL_PURPOSE s | DBUs | cost ($) | airflow baseline (s) | overhead/task (s) | ok |"
    )
    lines = [head, "|" + "|".join("---" for _ in range(15)) + "|"]
    for r in results:
        lines.append(
            f"| {STRATEGIES[r.strategy]} | {r.shape} | {r.n} | {r.start:g} | {r.job:g} | {r.wall:.1f} | "
            f"{r.real_minutes:.1f} | {r.starts} | {r.seconds_by_type.get('JOBS', 0):.1f} | "
            f"{r.seconds_by_type.get('ALL_PURPOSE', 0):.1f} | {r.dbus:.4g} | {r.cost:.4g} | {r.baseline:.1f} | "
            f"{r.overhead / r.tasks_cp:+.2f} | {'yes' if r.ok else 'NO'} |"
        )
    return "\n".join(lines)


def plot(sweep: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_cost, ax_wall) = plt.subplots(1, 2, figsize=(11, 4.2))
    for strategy, label in STRATEGIES.items():
        rows = sorted((r for r in sweep if r.strategy == strategy), key=lambda r: r.job / r.start)
        x = [r.job / r.start for r in rows]
        ax_cost.plot(x, [r.cost for r in rows], marker="o", label=label)
        ax_wall.plot(x, [r.real_minutes for r in rows], marker="o", label=label)
    n, s = sweep[0].n, sweep[0].start
    ax_cost.set(
        xscale="log",
        xlabel="J / S (job length / cluster start)",
        ylabel="DBU cost per DAG run ($)",
        title=f"Cost, {n} sequential jobs, S = {s:g} min",
    )
    ax_wall.set(
        xscale="log",
        xlabel="J / S (job length / cluster start)",
        ylabel="DAG wall time (real minutes)",
        title=f"Wall time, {n} sequential jobs, S = {s:g} min",
    )
    for ax in (ax_cost, ax_wall):
        ax.grid(True, which="both", alpha=0.3)
    ax_cost.legend(fontsize=8)
    fig.suptitle("Measured on the local workspace (scaled time: 1 s = 1 min); list DBU prices", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


# ---------------------------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--start", type=float, default=5.0, help="cluster start S, scaled seconds (= minutes)")
    parser.add_argument("--job", type=float, default=5.0, help="job length J, scaled seconds (= minutes)")
    parser.add_argument("--jobs", type=int, default=4, help="N jobs per DAG run")
    parser.add_argument("--shapes", default="sequential", help="sequential (dag.test), parallel (deployment)")
    parser.add_argument("--strategies", default="a,b,c")
    parser.add_argument(
        "--poll", type=float, default=0.1, help="operators' poll interval, scaled seconds (0.1 = every 6 real seconds)"
    )
    parser.add_argument(
        "--parallelism",
        type=int,
        default=8,
        help="parallel shape: the LocalExecutor's slots (raised to N if lower).  An executor slot "
        "stays taken for a few seconds after its task ends (its worker's supervisor "
        "finishing), so with exactly N slots the N-th parallel task can start late",
    )
    parser.add_argument("--baseline-repeat", type=int, default=2, help="no-op baseline runs per strategy")
    parser.add_argument("--workers", type=int, default=1, help="num_workers of every cluster (+1 driver node)")
    parser.add_argument("--price-jobs", type=float, default=0.15, help="$/DBU Jobs Compute (AWS Premium list)")
    parser.add_argument(
        "--price-all-purpose", type=float, default=0.55, help="$/DBU All-Purpose Compute (AWS Premium list)"
    )
    parser.add_argument("--dbu-per-node-hour", type=float, default=1.0, help="DBU/hour of one node (i3.xlarge: 1.0)")
    parser.add_argument("--sweep", default="0.1,0.5,1,2,5", help="J/S ratios for the plot ('' to skip)")
    parser.add_argument("--sweep-start", type=float, default=2.0)
    parser.add_argument("--sweep-jobs", type=int, default=2)
    parser.add_argument("--plot", type=Path, default=HERE / "plots" / "cluster_strategies.png")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument(
        "--spark",
        action="store_true",
        help="real Spark drivers, real time: S measured, --job and --poll in real seconds",
    )
    args = parser.parse_args()
    if args.spark:
        if "parallel" in args.shapes:
            parser.error("--spark runs the sequential shape only")
        globals().update(SECONDS_PER_SCALED_SECOND=1.0, REAL_SPARK=True)
        args.sweep = ""

    prices = Prices(args.price_jobs, args.price_all_purpose, args.dbu_per_node_hour)
    strategies = [s for s in args.strategies.split(",") if s]
    shapes = [s for s in args.shapes.split(",") if s]
    unknown = set(shapes) - {"sequential", "parallel"}
    if unknown:
        parser.error(f"--shapes: unknown {sorted(unknown)}; use sequential, parallel or both")
    ratios = [float(x) for x in args.sweep.split(",") if x.strip()]
    tmp = private_airflow_home()
    in_process = "sequential" in shapes or bool(ratios)
    if in_process:
        prepare_airflow(tmp)
        scale_provider_launch_poll()
    cpu0 = time.process_time()
    print(f"machine: {describe()}")
    print(
        f"prices: Jobs ${prices.jobs}/DBU, All-Purpose ${prices.all_purpose}/DBU, "
        f"{prices.dbu_per_node_hour} DBU/h per node, {args.workers} worker(s) + driver; "
        f"poll {args.poll:g} s; " + ("real Spark drivers, real time" if REAL_SPARK else "1 scaled s = 1 real min"),
        flush=True,
    )

    out: dict[str, Any] = {"machine": describe(), "main": [], "sweep": []}
    baselines: dict[tuple[str, str, int], float] = {}

    def baseline(strategy: str, shape: str, n: int) -> float:
        key = (strategy, shape, n)
        if key not in baselines:
            baselines[key] = time_baseline(strategy, shape, n, f"{n}")
        return baselines[key]

    def workspace(start: float) -> LocalWorkspace:
        from airbricks.workspace.server.serve import LocalWorkspace

        ws = (
            LocalWorkspace(tmp / "ws-spark", spark=True, cluster_start_seconds=0, cluster_stop_seconds=0)
            if REAL_SPARK
            else LocalWorkspace(tmp / f"ws-{start:g}", cluster_start_seconds=start, cluster_stop_seconds=0.1)
        )
        ws.start()
        os.environ["AIRFLOW_CONN_DATABRICKS_DEFAULT"] = ws.connection_uri
        api = Api(ws)
        upload_notebook(lambda path, body: api.call("POST", path, json=body))
        return ws

    results: list[Result] = []
    if in_process:
        time_baseline("a", "sequential", 1, "warmup", repeat=1)  # first run pays imports and DB warm-up
    if "sequential" in shapes:
        ws = workspace(args.start)
        try:
            api = Api(ws)
            for strategy in strategies:
                r = measure(
                    api,
                    strategy,
                    "sequential",
                    args.jobs,
                    args.start,
                    args.job,
                    args.poll,
                    args.workers,
                    prices,
                    baseline(strategy, "sequential", args.jobs),
                    f"main_{args.jobs}",
                )
                results.append(r)
                print(
                    f"  ran {STRATEGIES[r.strategy]} sequential: wall {r.wall:.1f} s, starts {r.starts}, ok={r.ok}",
                    flush=True,
                )
        finally:
            ws.stop()
    if "parallel" in shapes:
        results += run_parallel(
            tmp / "deployment",
            strategies,
            args.jobs,
            args.start,
            args.job,
            args.poll,
            args.workers,
            args.parallelism,
            prices,
            args.baseline_repeat,
        )
    print()
    print(
        f"## N = {args.jobs} jobs, S = measured real driver starts (s), J = {args.job:g} s (real)"
        if REAL_SPARK
        else f"## N = {args.jobs} jobs, S = {args.start:g} (min), J = {args.job:g} (min)"
        + (" (parallel: real Airflow deployment, LocalExecutor)" if "parallel" in shapes else "")
    )
    print(table(results, prices))
    print()
    print("airbricks operators measured directly (strategy b), seconds of the task beyond the cluster's own time:")
    for r in results:
        if r.airbricks_ops:
            print(
                f"  {r.shape}: "
                + ", ".join(f"{k} {v:.2f} s" for k, v in r.airbricks_ops.items())
                + f"; airflow baseline per task {r.baseline / (r.n + 2):.2f} s"
            )
    out["main"] = [vars(r) | {"overhead": r.overhead, "real_minutes": r.real_minutes} for r in results]

    if ratios:
        sweep: list[Result] = []
        ws = workspace(args.sweep_start)
        try:
            api = Api(ws)
            for ratio in ratios:
                job = ratio * args.sweep_start
                for strategy in strategies:
                    r = measure(
                        api,
                        strategy,
                        "sequential",
                        args.sweep_jobs,
                        args.sweep_start,
                        job,
                        args.poll,
                        args.workers,
                        prices,
                        baseline(strategy, "sequential", args.sweep_jobs),
                        f"sweep_{ratio:g}",
                    )
                    sweep.append(r)
                    print(f"  sweep J/S={ratio:g} {STRATEGIES[strategy]}: wall {r.wall:.1f} s, ok={r.ok}", flush=True)
        finally:
            ws.stop()
        print()
        print(f"## sweep: N = {args.sweep_jobs} sequential jobs, S = {args.sweep_start:g} (min), J = ratio x S")
        print(table(sweep, prices))
        plot(sweep, args.plot)
        print(f"plot: {args.plot}")
        out["sweep"] = [vars(r) | {"overhead": r.overhead, "real_minutes": r.real_minutes} for r in sweep]
    print(f"CPU of this process: {time.process_time() - cpu0:.0f} s (the workspace's notebook processes not included)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
