"""A DAG run is never green by accident: the article's shape with a failing notebook fails, a delete that
keeps failing fails the run and names the cluster still up - on real Airflow against the local workspace."""

from __future__ import annotations

import base64
import datetime

import pytest

SEED_CLUSTER_ID = "{{ ti.xcom_pull('start_cluster', key='all_purpose_cluster_id') }}"
FAILING = "# Databricks notebook source\nraise ValueError('the landed batch is empty')\n"
SUCCEEDING = "# Databricks notebook source\ndbutils.notebook.exit('7 rows')\n"


def _spec(name: str) -> dict:
    return {"cluster_name": name, "spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1}


@pytest.fixture(scope="module")
def notebooks(sdk) -> dict[str, str]:
    sdk.workspace.mkdirs("/Shared/never-green")
    paths = {}
    for name, source in (("failing", FAILING), ("succeeding", SUCCEEDING)):
        paths[name] = f"/Shared/never-green/{name}"
        sdk.api_client.do(
            "POST",
            "/api/2.0/workspace/import",
            body={
                "path": paths[name],
                "format": "SOURCE",
                "language": "PYTHON",
                "overwrite": True,
                "content": base64.b64encode(source.encode()).decode(),
            },
        )
    return paths


def _article_dag(dag_id: str, notebook: str, sink: dict):
    """The article's shape: create >> run_job >> get_result >> terminate, the delete a plain all_done leaf."""
    from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
    from airflow.sdk import DAG

    from airbricks.operators import (
        DatabricksCreateClusterOperator,
        DatabricksDeleteClusterOperator,
        DatabricksRunOutputOperator,
    )

    def record(context):
        sink.setdefault("errors", {})[context["ti"].task_id] = str(context.get("exception"))

    with DAG(dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
        start = DatabricksCreateClusterOperator(task_id="start_cluster", cluster_spec=_spec(dag_id), poll_interval=0.2)
        job = DatabricksSubmitRunOperator(
            task_id="run_job",
            polling_period_seconds=0.2,
            json={
                "run_name": "job",
                "tasks": [
                    {
                        "task_key": "job",
                        "existing_cluster_id": SEED_CLUSTER_ID,
                        "notebook_task": {"notebook_path": notebook},
                    }
                ],
            },
        )
        result = DatabricksRunOutputOperator(task_id="get_result", run_task_id="run_job")
        terminate = DatabricksDeleteClusterOperator(
            task_id="terminate_cluster",
            cluster_id=SEED_CLUSTER_ID,
            databricks_retry_limit=2,
            databricks_retry_delay=0.1,
            on_failure_callback=record,
        )
        start >> job >> result >> terminate
    return dag


def test_the_article_shape_with_a_failing_notebook_fails_and_deletes_the_cluster(
    run_dag, dag_id, sink, notebooks, sdk, ti_states, clusters_ever
):
    dag = _article_dag(dag_id, notebooks["failing"], sink)
    terminate = dag.task_dict["terminate_cluster"]
    assert terminate.is_teardown and terminate.on_failure_fail_dagrun  # it made itself the create's teardown
    assert dag.task_dict["start_cluster"].is_setup
    dr = run_dag(dag)
    states = ti_states(dr)
    assert states["run_job"] == "failed" and states["get_result"] == "upstream_failed"
    assert dr.state == "failed", states  # never green: the run reflects the failed job
    (cluster,) = clusters_ever(dag_id)
    assert cluster["deleted"]
    assert sink["errors"]["terminate_cluster"].startswith(  # the delete worked, and says why it is red
        f"Cluster {cluster['cluster_id']} was deleted; this task fails the DAG run because upstream work failed: "
        "get_result, run_job"
    )


def test_the_article_shape_succeeds_when_the_job_does(run_dag, dag_id, sink, notebooks, ti_states, clusters_ever):
    dr = run_dag(_article_dag(dag_id, notebooks["succeeding"], sink))
    assert dr.state == "success" and set(ti_states(dr).values()) == {"success"}
    assert [c["deleted"] for c in clusters_ever(dag_id)] == [True]


def test_a_delete_that_keeps_failing_fails_the_run_and_names_the_cluster(
    run_dag, dag_id, sink, notebooks, sdk, ti_states, add_faults, clusters_ever, local_ws
):
    import requests

    add_faults({"path": "clusters/permanent-delete", "status": 500})
    dr = run_dag(_article_dag(dag_id, notebooks["succeeding"], sink))
    states = ti_states(dr)
    assert states["get_result"] == "success" and states["terminate_cluster"] == "failed"
    assert dr.state == "failed"  # a cluster left running is never a green run
    (cluster,) = clusters_ever(dag_id)
    error = sink["errors"]["terminate_cluster"]
    assert f"Could not delete cluster {cluster['cluster_id']}: it is still RUNNING and costing money" in error
    assert not cluster["deleted"] and cluster["state"] == "RUNNING"
    requests.delete(
        f"{local_ws.url}/api/2.0/airbricks/faults", headers={"Authorization": f"Bearer {local_ws.token}"}, timeout=10
    ).raise_for_status()
    sdk.clusters.permanent_delete(cluster["cluster_id"])
