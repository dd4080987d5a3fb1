"""The operators under a distributed Airflow: CeleryExecutor, two workers, PostgreSQL, Redis, all from pip.

One deployment for the module (``airbricks.testing.deployment``, ``executor="celery"``): PostgreSQL and Redis
from their wheels, scheduler, dag-processor, api-server, triggerer and two Celery workers as supervised
processes on loopback.  The test kills -9 the whole worker (its process group: Celery, its pool, the task
process) that runs ``DatabricksCreateClusterOperator`` while the cluster it created is PENDING, the way a lost
machine dies: no ``on_kill``, no clean-up.  Airflow notices the missing heartbeats, retries the task, the
retry lands on the other worker and adopts the cluster by its tags; the DAG run ends green and the
workspace's own records hold exactly one cluster for that task, deleted by the teardown.  When the killed try
was the last one, nothing adopts the cluster and the teardown is skipped: the operator's failure callback,
run by the dag-processor once the scheduler has failed the task, deletes it.
"""

from __future__ import annotations

import datetime
import os
import uuid
from typing import Any

import pytest

from airbricks.testing.deployment import AirflowDeployment
from waiting import wait_for

DAG_ID = "distributed_kill"
#: A worker missing heartbeats this long is given up by the scheduler (then the task is retried).
HEARTBEAT_TIMEOUT = 20.0
DAG = """
import datetime

from airflow.sdk import DAG, task

from airbricks.operators.cluster_delete import DatabricksDeleteClusterOperator
from airbricks.operators.clusters import DatabricksCreateClusterOperator

with DAG("distributed_kill", schedule=None, start_date=datetime.datetime(2024, 1, 1), max_active_runs=4,
         default_args={"retries": 1, "retry_delay": datetime.timedelta(seconds=1)}) as dag:
    create = DatabricksCreateClusterOperator(
        task_id="start_cluster", poll_interval=1,
        cluster_spec={"cluster_name": "distributed-{{ run_id }}", "spark_version": "15.4.x-scala2.12",
                      "node_type_id": "i3.xlarge", "num_workers": 1})

    @task
    def use_cluster(cluster_id: str) -> str:
        from airbricks.hooks import AirbricksDatabricksHook

        return AirbricksDatabricksHook().get_cluster(cluster_id)["state"]

    delete = DatabricksDeleteClusterOperator(task_id="delete_cluster", cluster_id=create.output)
    use_cluster(create.output) >> delete

with DAG("distributed_kill_last_try", schedule=None, start_date=datetime.datetime(2024, 1, 1),
         max_active_runs=4) as last_try_dag:
    create = DatabricksCreateClusterOperator(
        task_id="start_cluster", poll_interval=1, retries=0,
        cluster_spec={"cluster_name": "distributed-{{ run_id }}", "spark_version": "15.4.x-scala2.12",
                      "node_type_id": "i3.xlarge", "num_workers": 1})
    create >> DatabricksDeleteClusterOperator(task_id="delete_cluster", cluster_id=create.output)
"""
LAST_TRY_DAG_ID = "distributed_kill_last_try"


@pytest.fixture(scope="module")
def celery_deployment(tmp_path_factory: pytest.TempPathFactory) -> Any:
    saved = {k: os.environ.pop(k) for k in [k for k in os.environ if k.startswith("AIRFLOW")]}
    dep = AirflowDeployment(
        tmp_path_factory.mktemp("celery"),
        {"distributed_kill.py": DAG},
        [DAG_ID, LAST_TRY_DAG_ID],
        executor="celery",
        parallelism=4,
        workers=2,
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
        cluster_start_seconds=1.0,
        cluster_stop_seconds=0.2,
    )
    try:
        dep.start()
        print(f"celery deployment ready: {dep.timings}")
        yield dep
    finally:
        dep.stop()
        os.environ.update(saved)


def _kill_the_worker_while_pending(dep: AirflowDeployment, dag_id: str, run_id: str) -> tuple[str, dict[str, Any]]:
    """Trigger ``dag_id`` with a slow cluster start, kill -9 the worker running its start_cluster while the
    cluster is PENDING; the worker's name and the cluster."""
    # The cluster stays PENDING long enough to kill its worker and for Airflow to notice.
    dep.ws(
        "POST",
        "/api/2.0/airbricks/faults",
        json={"rules": [{"kind": "slow_cluster_start", "count": 1, "seconds": HEARTBEAT_TIMEOUT + 10}]},
    )
    dep.trigger(dag_id, run_id, datetime.datetime.now(datetime.timezone.utc))

    def pending_on_a_worker() -> str | None:
        rows = dep.query(
            "SELECT id, state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ? "
            "AND task_id = 'start_cluster'",
            dag_id,
            run_id,
        )
        if not rows or rows[0][1] != "running" or rows[0][2] != 1:
            return None
        if not [c for c in _clusters_of(dep, run_id) if c["state"] == "PENDING"]:
            return None
        return dep.worker_running(str(uuid.UUID(str(rows[0][0]))))

    worker = wait_for("start_cluster running on a worker with its cluster PENDING", pending_on_a_worker, 120)
    dep.kill_service(worker)  # kill -9 of the worker's whole process group
    (cluster,) = _clusters_of(dep, run_id)
    assert cluster["state"] == "PENDING", cluster
    return worker, cluster


def _clusters_of(dep: AirflowDeployment, run_id: str) -> list[dict[str, Any]]:
    """Every cluster the workspace ever created for this run's start_cluster, deleted ones too."""
    return [
        c
        for c in dep.ws("GET", "/api/2.0/airbricks/clusters")["clusters"]
        if (c.get("custom_tags") or {}).get("airflow_run_id") == run_id
        and (c.get("custom_tags") or {}).get("airflow_task_id") == "start_cluster"
    ]


def _log(dep: AirflowDeployment, run_id: str, task_id: str, attempt: int) -> str:
    path = dep.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={task_id}" / f"attempt={attempt}.log"
    return path.read_text(errors="replace") if path.exists() else ""


@pytest.mark.timeout(300)
def test_sigkill_of_the_worker_while_the_cluster_is_pending_adopts_it_on_the_other_worker(celery_deployment):
    dep = celery_deployment
    run_id = f"kill_{uuid.uuid4().hex[:8]}"
    worker, cluster = _kill_the_worker_while_pending(dep, DAG_ID, run_id)

    try:
        state = dep.wait_run(DAG_ID, run_id, timeout=180)
    finally:
        dep.restart(worker)  # the next test (or the chaos run) finds two workers again
    tries = dict(
        dep.query("SELECT task_id, try_number FROM task_instance WHERE dag_id = ? AND run_id = ?", DAG_ID, run_id)
    )
    retry_log = _log(dep, run_id, "start_cluster", 2)
    assert state == "success", (tries, retry_log[-3000:])
    assert tries["start_cluster"] == 2, tries  # the killed try was retried...
    # The killed worker is restarted only after the run ended: the retry ran on the other one.
    # ...and the retry adopted the cluster the killed try had created instead of creating a second one.
    assert f"Adopting cluster {cluster['cluster_id']}" in retry_log, retry_log[-3000:]
    ever = _clusters_of(dep, run_id)
    assert [c["cluster_id"] for c in ever] == [cluster["cluster_id"]], ever
    assert ever[0]["deleted"] is True, ever[0]
    assert dict(
        dep.query("SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", DAG_ID, run_id)
    ) == {"start_cluster": "success", "use_cluster": "success", "delete_cluster": "success"}


@pytest.mark.timeout(300)
def test_when_the_last_try_loses_its_worker_the_failure_callback_deletes_the_cluster(celery_deployment):
    """No retry left, so nothing adopts the cluster and the teardown is skipped after the failed setup: the
    operator's failure callback, which Airflow runs in the dag-processor, deletes it."""
    dep = celery_deployment
    run_id = f"last_{uuid.uuid4().hex[:8]}"
    worker, cluster = _kill_the_worker_while_pending(dep, LAST_TRY_DAG_ID, run_id)
    try:
        state = dep.wait_run(LAST_TRY_DAG_ID, run_id, timeout=180)
        assert state == "failed"
        assert dict(
            dep.query(
                "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", LAST_TRY_DAG_ID, run_id
            )
        ) == {"start_cluster": "failed", "delete_cluster": "upstream_failed"}
        gone = wait_for(
            "the cluster deleted by the failure callback",
            lambda: all(c["deleted"] for c in _clusters_of(dep, run_id)),
            120,
        )
        assert gone and [c["cluster_id"] for c in _clusters_of(dep, run_id)] == [cluster["cluster_id"]]
        callbacks = "".join(
            log.read_text(errors="replace") for log in (dep.home / "logs" / "dag_processor").rglob("*.log")
        )
        assert ": delete_clusters_of_a_failed_task" in callbacks, callbacks[-2000:]  # run by the dag-processor
    finally:
        dep.restart(worker)
