"""Cluster operators against the local workspace: create/wait, failure, adoption, kill, deferrable, teardown."""

from __future__ import annotations

import datetime
import logging
import re
from typing import Any

import pytest

SEED_CLUSTER_ID = "{{ ti.xcom_pull('start_cluster', key='all_purpose_cluster_id') }}"


def _spec(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "cluster_name": name,
        "spark_version": "15.4.x-scala2.12",
        "node_type_id": "i3.xlarge",
        "num_workers": 1,
        **extra,
    }


def _dag(dag_id: str):
    from airflow.sdk import DAG

    return DAG(dag_id=dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)


def _clusters_of(sdk, dag_id: str) -> list:
    return [c for c in sdk.clusters.list() if (c.custom_tags or {}).get("airflow_dag_id") == dag_id]


def _record_failure(sink: dict):
    def callback(context):
        sink["error"] = str(context.get("exception"))

    return callback


def _create(sink: dict, **kwargs: Any):
    from airbricks.operators.clusters import DatabricksCreateClusterOperator

    kwargs.setdefault("task_id", "start_cluster")
    kwargs.setdefault("cluster_spec", _spec("ops-test", custom_tags={"team": "data"}))
    return DatabricksCreateClusterOperator(
        poll_interval=0.2, timeout=60, on_failure_callback=_record_failure(sink), **kwargs
    )


def _pipeline(dag_id: str, sink: dict, **create_kwargs: Any):
    """create (seed task id) -> clusters/get through the seed's XCom template -> delete (seed template)."""
    from airflow.sdk import task

    from airbricks.operators.api import DatabricksApiOperator
    from airbricks.operators.cluster_delete import DatabricksDeleteClusterOperator

    with _dag(dag_id) as dag:
        create = _create(sink, **create_kwargs)
        get = DatabricksApiOperator(
            task_id="get_cluster", method="GET", endpoint="api/2.1/clusters/get", json={"cluster_id": SEED_CLUSTER_ID}
        )

        @task
        def record(cluster, created_id):
            sink["cluster"] = cluster
            sink["returned_id"] = created_id

        delete = DatabricksDeleteClusterOperator(task_id="terminate_cluster", cluster_id=SEED_CLUSTER_ID)
        create >> get
        record(get.output, create.output) >> delete
    return dag


def test_create_waits_until_running_tags_it_and_delete_removes_it(run_dag, dag_id, sink, sdk, ti_states):
    dr = run_dag(_pipeline(dag_id, sink))
    assert ti_states(dr) == {
        "start_cluster": "success",
        "get_cluster": "success",
        "record": "success",
        "terminate_cluster": "success",
    }
    cluster = sink["cluster"]
    assert cluster["state"] == "RUNNING"
    assert cluster["cluster_id"] == sink["returned_id"]
    tags = cluster["custom_tags"]
    assert tags["team"] == "data"
    assert tags["airflow_dag_id"] == dag_id
    assert tags["airflow_task_id"] == "start_cluster"
    assert tags["airflow_map_index"] == "-1"
    assert re.fullmatch(r"[A-Za-z0-9 +\-=._:/@]+", tags["airflow_run_id"])
    assert len(tags["airflow_ti_key"]) == 32
    assert _clusters_of(sdk, dag_id) == []


def test_launch_failure_fails_fast_with_reason_and_deletes(run_dag, dag_id, sink, sdk, local_ws, ti_states, add_faults):
    add_faults({"kind": "cluster_launch_failure", "count": 1})
    dr = run_dag(_pipeline(dag_id, sink))
    states = ti_states(dr)
    assert states["start_cluster"] == "failed"
    # The delete is the create's teardown (its cluster id comes from it): a failed setup skips it, and the
    # create deleted what it had created itself.
    assert states["terminate_cluster"] == "upstream_failed" and dr.state == "failed"
    assert "did not start" in sink["error"]
    code = re.search(r"termination_reason code=(\w+) type=(\w+)", sink["error"])
    assert code and (code[1], code[2]) == ("CLOUD_PROVIDER_LAUNCH_FAILURE", "CLOUD_FAILURE"), sink["error"]
    assert "Injected launch failure" in sink["error"]  # the reason's parameters are in the message
    assert _clusters_of(sdk, dag_id) == []


def test_refused_create_fails_with_the_api_error_and_no_link_noise(run_dag, dag_id, sink, sdk):
    """A spec the API refuses: the task fails with Databricks' message, and Airflow's end-of-task link step
    logs no misleading ``XCom not found ... cluster_page_url`` (no cluster, so no link, so nothing to read)."""
    from airbricks.operators.libraries import DatabricksClusterLibrariesOperator

    with _dag(dag_id) as dag:
        _create(sink, cluster_spec=_spec("refused", autotermination_minutes=3))
        DatabricksClusterLibrariesOperator(
            task_id="libraries",
            cluster_id="0000-000000-doesnotexist",
            libraries=[{"pypi": {"package": "tinydb"}}],
            poll_interval=0.2,
        )
    dr = run_dag(dag)
    assert dr.task_states == {"start_cluster": "failed", "libraries": "failed"}
    assert "autotermination_minutes" in sink["error"], sink["error"]
    for task_id in ("start_cluster", "libraries"):
        assert "XCom not found" not in dr.log(task_id), dr.log(task_id)
        assert "Failed to push an xcom for task operator extra link" not in dr.log(task_id)
    # The libraries task knew its cluster id: its link is there although the install was refused.
    assert dr.xcom("libraries", key="cluster_page_url").endswith(
        "/#setting/clusters/0000-000000-doesnotexist/configuration"
    )
    assert _clusters_of(sdk, dag_id) == []


def test_deleting_an_unknown_cluster_counts_as_success(run_dag, dag_id, ti_states, caplog):
    from airbricks.operators.cluster_delete import DatabricksDeleteClusterOperator

    with _dag(dag_id) as dag:
        DatabricksDeleteClusterOperator(task_id="delete", cluster_id="0000-000000-doesnotexist")
        DatabricksDeleteClusterOperator(task_id="terminate", cluster_id="0000-000000-doesnotexist", permanent=False)
    dr = run_dag(dag)
    assert ti_states(dr) == {"delete": "success", "terminate": "success"}


def test_retry_adopts_the_cluster_of_a_crashed_try(run_dag, dag_id, sink, sdk, ti_states, clusters_ever):
    """A first try created the cluster and died: the next try adopts it instead of creating a second."""
    from airflow.sdk import task

    from airbricks.operators.clusters import owner_tags

    with _dag(dag_id) as dag:

        @task
        def crashed_first_try(**context):
            ti = context["ti"]
            tags = owner_tags(ti.dag_id, ti.run_id, "start_cluster", -1)
            created = sdk.clusters.create(
                cluster_name="from-crashed-try",
                spark_version="15.4.x-scala2.12",
                node_type_id="i3.xlarge",
                num_workers=1,
                custom_tags=tags,
            )
            sink["orphan"] = created.cluster_id

        create = _create(sink)

        @task
        def record(cluster_id):
            sink["adopted"] = cluster_id
            sink["owned"] = [c.cluster_id for c in _clusters_of(sdk, dag_id)]

        crashed_first_try() >> create
        from airbricks.operators.cluster_delete import DatabricksDeleteClusterOperator

        record(create.output) >> DatabricksDeleteClusterOperator(task_id="delete", cluster_id=create.output)
    dr = run_dag(dag)
    assert ti_states(dr)["start_cluster"] == "success"
    assert sink["adopted"] == sink["orphan"]
    assert sink["owned"] == [sink["orphan"]]
    assert [(c["cluster_id"], c["deleted"]) for c in clusters_ever(dag_id)] == [(sink["orphan"], True)]


def test_retry_restarts_a_terminated_cluster_it_owns(run_dag, dag_id, sink, sdk, ti_states):
    from airflow.sdk import task

    from airbricks.operators.cluster_delete import DatabricksDeleteClusterOperator
    from airbricks.operators.clusters import owner_tags

    with _dag(dag_id) as dag:

        @task
        def earlier_try_then_terminated(**context):
            ti = context["ti"]
            tags = owner_tags(ti.dag_id, ti.run_id, "start_cluster", -1)
            cluster = sdk.clusters.create_and_wait(
                cluster_name="earlier",
                spark_version="15.4.x-scala2.12",
                node_type_id="i3.xlarge",
                num_workers=1,
                custom_tags=tags,
            )
            sdk.clusters.delete_and_wait(cluster_id=cluster.cluster_id)
            sink["orphan"] = cluster.cluster_id

        create = _create(sink)

        @task
        def record(cluster_id):
            sink["adopted"] = cluster_id
            sink["state"] = sdk.clusters.get(cluster_id).state.value

        earlier_try_then_terminated() >> create
        record(create.output) >> DatabricksDeleteClusterOperator(task_id="delete", cluster_id=create.output)
    dr = run_dag(dag)
    assert ti_states(dr)["start_cluster"] == "success"
    assert sink["adopted"] == sink["orphan"]
    assert sink["state"] == "RUNNING"


def test_failed_launch_then_retry_creates_a_fresh_cluster(
    run_dag, dag_id, sink, sdk, local_ws, ti_states, clusters_ever, add_faults
):
    from airflow.sdk import task

    from airbricks.operators.cluster_delete import DatabricksDeleteClusterOperator

    add_faults({"kind": "cluster_launch_failure", "count": 1})
    with _dag(dag_id) as dag:
        create = _create(sink, retries=1, retry_delay=datetime.timedelta(0))

        @task
        def record(cluster_id):
            sink["cluster_id"] = cluster_id
            sink["owned"] = [c.cluster_id for c in _clusters_of(sdk, dag_id)]

        record(create.output) >> DatabricksDeleteClusterOperator(task_id="delete", cluster_id=create.output)
    dr = run_dag(dag)
    assert ti_states(dr)["start_cluster"] == "success"
    assert sink["owned"] == [sink["cluster_id"]]
    first, second = clusters_ever(dag_id)  # the failed launch was deleted before the retry created another
    assert first["deleted"] and first["state"] == "TERMINATED" and second["cluster_id"] == sink["cluster_id"]
    assert _clusters_of(sdk, dag_id) == []


def test_killed_task_deletes_its_cluster(run_dag, dag_id, sink, sdk, ti_states, clusters_ever):
    """execution_timeout kills the task while it waits: on_kill permanently deletes the cluster."""
    with _dag(dag_id) as dag:
        _create(sink, execution_timeout=datetime.timedelta(seconds=2)).poll_interval = 30
    dr = run_dag(dag)
    assert ti_states(dr) == {"start_cluster": "failed"}
    assert "Timeout" in sink["error"] or "timed out" in sink["error"].lower()
    assert [c["deleted"] for c in clusters_ever(dag_id)] == [True]


def test_deferrable_create_waits_in_the_trigger(run_dag, dag_id, sink, sdk, ti_states, caplog):
    caplog.set_level(logging.INFO)
    dr = run_dag(_pipeline(dag_id, sink, deferrable=True))
    assert ti_states(dr)["start_cluster"] == "success"
    assert "running trigger in line" in caplog.text
    assert sink["cluster"]["state"] == "RUNNING"
    assert _clusters_of(sdk, dag_id) == []


def test_deferrable_launch_failure_deletes_and_reports(
    run_dag, dag_id, sink, sdk, local_ws, ti_states, caplog, add_faults
):
    caplog.set_level(logging.INFO)
    add_faults({"kind": "cluster_launch_failure", "count": 1})
    dr = run_dag(_pipeline(dag_id, sink, deferrable=True))
    assert ti_states(dr)["start_cluster"] == "failed"
    assert "running trigger in line" in caplog.text
    assert "termination_reason code=CLOUD_PROVIDER_LAUNCH_FAILURE" in sink["error"], sink["error"]
    assert _clusters_of(sdk, dag_id) == []


@pytest.mark.parametrize("work_fails", [False, True])
def test_setup_teardown_helper_always_deletes(run_dag, dag_id, sink, sdk, ti_states, work_fails):
    from airflow.sdk import task

    from airbricks.operators.cluster_delete import databricks_cluster

    with _dag(dag_id) as dag:
        with databricks_cluster(
            _spec("helper"), create_task_id="start_cluster", create_kwargs={"poll_interval": 0.2}
        ) as cluster:

            @task
            def work(cluster_id):
                sink["state"] = sdk.clusters.get(cluster_id).state.value
                if work_fails:
                    raise RuntimeError("the job failed")

            work(cluster.output)
    assert dag.task_dict["start_cluster"].is_setup and dag.task_dict["delete_cluster"].is_teardown
    dr = run_dag(dag)
    states = ti_states(dr)
    assert sink["state"] == "RUNNING"
    # Having deleted the cluster, the teardown reports failed work (Airflow judges the run by the teardown).
    assert states["delete_cluster"] == ("failed" if work_fails else "success")
    assert states["work"] == ("failed" if work_fails else "success")
    assert dr.state == ("failed" if work_fails else "success")
    assert _clusters_of(sdk, dag_id) == []


def test_tag_values_are_sanitized():
    from airbricks.operators.clusters import owner_tags, sanitize_tag_value

    assert sanitize_tag_value("manual__2026-01-01T00:00:00+00:00") == "manual__2026-01-01T00:00:00+00:00"
    assert sanitize_tag_value("a<b>&c%d" + "x" * 300) == "a_b__c_d" + "x" * 247
    a, b = owner_tags("d", "r<1", "t", -1), owner_tags("d", "r>1", "t", -1)
    assert a["airflow_run_id"] == b["airflow_run_id"] and a["airflow_ti_key"] != b["airflow_ti_key"]


def test_mapped_creates_tag_each_map_index_and_push_the_cluster_link(
    run_dag, dag_id, sink, sdk, local_ws, ti_states, clusters_ever
):
    from airflow.sdk import task

    from airbricks.links import DatabricksClusterLink
    from airbricks.operators.cluster_delete import DatabricksDeleteClusterOperator
    from airbricks.operators.clusters import DatabricksCreateClusterOperator

    with _dag(dag_id) as dag:
        create = DatabricksCreateClusterOperator.partial(task_id="start_cluster", poll_interval=0.2).expand(
            cluster_spec=[_spec("mapped-0"), _spec("mapped-1")]
        )

        @task
        def record(cluster_ids, **context):
            from airflow.models.taskinstancekey import TaskInstanceKey

            ti = context["ti"]
            sink["ids"] = list(cluster_ids)
            sink["links"] = [
                DatabricksClusterLink().get_link(
                    None, ti_key=TaskInstanceKey(ti.dag_id, "start_cluster", ti.run_id, ti.try_number, i)
                )
                for i in range(2)
            ]

        ids = create.output
        record(ids) >> DatabricksDeleteClusterOperator.partial(task_id="delete").expand(cluster_id=ids)
    dr = run_dag(dag)
    assert ti_states(dr)["record"] == "success"
    ever = clusters_ever(dag_id)
    assert sorted(c["custom_tags"]["airflow_map_index"] for c in ever) == ["0", "1"]
    assert len({c["custom_tags"]["airflow_ti_key"] for c in ever}) == 2
    assert all(c["deleted"] for c in ever)
    assert sink["links"] == [f"{local_ws.url}/#setting/clusters/{cid}/configuration" for cid in sink["ids"]]


@pytest.mark.parametrize("deferrable", [False, True])
def test_start_timeout_deletes_the_cluster(
    run_dag, dag_id, sink, local_ws, ti_states, clusters_ever, deferrable, add_faults
):
    add_faults({"kind": "slow_cluster_start", "count": 1, "seconds": 30})
    with _dag(dag_id) as dag:
        _create(sink, deferrable=deferrable).timeout = 1
    dr = run_dag(dag)
    assert ti_states(dr) == {"start_cluster": "failed"}
    assert "PENDING" in sink["error"]
    assert [c["deleted"] for c in clusters_ever(dag_id)] == [True]
