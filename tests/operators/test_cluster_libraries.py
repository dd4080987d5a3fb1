"""DatabricksClusterLibrariesOperator on real Airflow: libraries installed for real (pip) on a running cluster,
and a library that cannot be installed fails the task with the cluster's message for it."""

from __future__ import annotations

import datetime
import uuid

import pytest


@pytest.fixture
def cluster_id(sdk):
    cid = sdk.clusters.create_and_wait(
        cluster_name=f"libs-{uuid.uuid4().hex[:6]}",
        spark_version="15.4.x-scala2.12",
        node_type_id="i3.xlarge",
        num_workers=1,
    ).cluster_id
    yield cid
    sdk.clusters.permanent_delete(cid)


def _run(run_dag, dag_id: str, sink: dict, cluster_id: str, libraries: list):
    from airflow.sdk import DAG, task

    from airbricks.operators import DatabricksClusterLibrariesOperator

    with DAG(dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
        install = DatabricksClusterLibrariesOperator(
            task_id="install",
            cluster_id=cluster_id,
            libraries=libraries,
            poll_interval=0.2,
            timeout=300,
            on_failure_callback=lambda context: sink.update(error=str(context.get("exception"))),
        )

        @task
        def record(statuses):
            sink["statuses"] = statuses

        record(install.output)
    return run_dag(dag)


def test_libraries_are_installed_before_the_task_succeeds(run_dag, dag_id, sink, sdk, ti_states, cluster_id):
    dr = _run(run_dag, dag_id, sink, cluster_id, [{"pypi": {"package": "tinydb==4.8.2"}}])
    assert ti_states(dr) == {"install": "success", "record": "success"}
    assert sink["statuses"] == {"pypi tinydb==4.8.2": "INSTALLED"}
    (status,) = sdk.libraries.cluster_status(cluster_id)
    assert status.status.value == "INSTALLED"


def test_a_library_that_cannot_be_installed_fails_with_its_message(run_dag, dag_id, sink, ti_states, cluster_id):
    missing = f"airbricks-no-such-package-{uuid.uuid4().hex[:6]}"
    dr = _run(run_dag, dag_id, sink, cluster_id, [{"pypi": {"package": missing}}, {"jar": "dbfs:/jars/nothing.jar"}])
    assert ti_states(dr)["install"] == "failed"
    assert sink["error"].startswith(f"Libraries could not be installed on cluster {cluster_id}: pypi {missing}: FAILED")
    assert "No matching distribution found" in sink["error"]
    assert (
        "jar dbfs:/jars/nothing.jar: FAILED - Cannot read the jar dbfs:/jars/nothing.jar: it does not exist."
        in sink["error"]
    )
