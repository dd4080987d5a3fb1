"""DatabricksStartClusterOperator on real Airflow: a TERMINATED cluster is started, a RUNNING one is left
running, an ambiguous name is refused - and the cluster is never deleted by it."""

from __future__ import annotations

import datetime
import uuid

import pytest


def _dag(dag_id: str):
    from airflow.sdk import DAG

    return DAG(dag_id=dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)


@pytest.fixture
def cluster(sdk):
    """A workspace-owned all-purpose cluster (not a DAG run's), deleted at the end of the test."""
    name = f"shared-{uuid.uuid4().hex[:8]}"
    cluster_id = sdk.clusters.create_and_wait(
        cluster_name=name, spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=1
    ).cluster_id
    yield cluster_id, name
    sdk.clusters.permanent_delete(cluster_id)


def _run(run_dag, dag_id: str, sink: dict, **kwargs):
    from airflow.sdk import task

    from airbricks.operators import DatabricksStartClusterOperator

    with _dag(dag_id) as dag:
        start = DatabricksStartClusterOperator(
            task_id="start",
            poll_interval=0.2,
            timeout=60,
            on_failure_callback=lambda context: sink.update(error=str(context.get("exception"))),
            **kwargs,
        )

        @task
        def record(cluster_id):
            sink["id"] = cluster_id

        record(start.output)
    return run_dag(dag)


def _starts(sdk, cluster_id: str) -> int:
    return sum(1 for e in sdk.clusters.events(cluster_id) if e.type.value == "STARTING")


@pytest.mark.parametrize("deferrable", [False, True])
def test_a_terminated_cluster_is_started_by_name(run_dag, dag_id, sink, sdk, ti_states, cluster, deferrable):
    cluster_id, name = cluster
    sdk.clusters.delete_and_wait(cluster_id)  # terminate: TERMINATED, still listed
    before = _starts(sdk, cluster_id)
    dr = _run(run_dag, dag_id, sink, cluster_name=name, deferrable=deferrable)
    assert ti_states(dr) == {"start": "success", "record": "success"}
    assert sink["id"] == cluster_id
    assert sdk.clusters.get(cluster_id).state.value == "RUNNING"
    assert _starts(sdk, cluster_id) == before + 1


def test_a_running_cluster_is_returned_without_a_restart(run_dag, dag_id, sink, sdk, ti_states, cluster):
    cluster_id, _ = cluster
    before = _starts(sdk, cluster_id)
    dr = _run(run_dag, dag_id, sink, cluster_id=cluster_id)
    assert ti_states(dr)["start"] == "success" and sink["id"] == cluster_id
    assert _starts(sdk, cluster_id) == before
    assert sdk.clusters.get(cluster_id).state.value == "RUNNING"


def test_a_name_that_matches_no_cluster_fails_naming_the_fix(run_dag, dag_id, sink, ti_states):
    dr = _run(run_dag, dag_id, sink, cluster_name="no-such-cluster-anywhere")
    assert ti_states(dr)["start"] == "failed"
    assert sink["error"] == (
        "cluster_name 'no-such-cluster-anywhere' must name exactly one cluster; found: none. "
        "Give cluster_id instead, or rename the clusters."
    )


def test_exactly_one_of_id_or_name() -> None:
    from airbricks.operators import DatabricksStartClusterOperator

    with pytest.raises(ValueError, match="exactly one of cluster_id or cluster_name"):
        DatabricksStartClusterOperator(task_id="x", cluster_id="a", cluster_name="b")
