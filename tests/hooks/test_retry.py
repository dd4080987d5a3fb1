"""The shared retry policy (``airbricks.retry``): Retry-After honoured, transient faults ridden out.

Unit tests of the wait on constructed failures, then the official provider's hook with
``DATABRICKS_RETRY_ARGS`` against the session's workspace: a 429 burst the provider's default (3 attempts)
gives up on is ridden out, each wait as long as the server's ``Retry-After``.
"""

from __future__ import annotations

import datetime
import email.utils
import time

import pytest
import requests
from tenacity import RetryCallState, Retrying

from airbricks.retry import (
    DATABRICKS_RETRY_ARGS,
    MAX_WAIT_SECONDS,
    RIDE_OUT_ATTEMPTS,
    databricks_retry,
    retry_after_seconds,
    wait_retry_after,
)


def _failed_with(exc: BaseException, attempt: int = 1) -> RetryCallState:
    state = RetryCallState(Retrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, None))
    return state


def _http_error(status: int, headers: dict[str, str]) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    return requests.HTTPError(f"{status} Client Error", response=response)


def test_retry_after_in_seconds_or_as_an_http_date_is_the_wait():
    wait = wait_retry_after()
    assert wait(_failed_with(_http_error(429, {"Retry-After": "7"}))) == 7
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    assert 17 <= wait(_failed_with(_http_error(503, {"Retry-After": when}))) <= 20
    assert wait(_failed_with(_http_error(429, {"Retry-After": "3600"}))) == MAX_WAIT_SECONDS  # capped


def test_without_retry_after_the_wait_grows_with_jitter():
    wait = wait_retry_after()
    first = wait(_failed_with(requests.ConnectionError("dropped"), attempt=1))
    fifth = wait(_failed_with(_http_error(503, {}), attempt=5))
    assert 1 <= first <= 2
    assert 16 <= fifth <= 17
    assert retry_after_seconds(_http_error(429, {"Retry-After": "soon"})) is None


def test_deferrable_mode_gets_plain_numbers_the_triggerer_accepts():
    from airflow.providers.databricks.utils.retry import validate_deferrable_databricks_retry_args

    deferred = databricks_retry(deferrable=True)
    assert deferred == {
        "databricks_retry_limit": RIDE_OUT_ATTEMPTS,
        "databricks_retry_delay": 1.0,
        "databricks_retry_args": None,
    }
    validate_deferrable_databricks_retry_args(deferred["databricks_retry_args"], owner="test")
    assert databricks_retry(deferrable=False) == {"databricks_retry_args": DATABRICKS_RETRY_ARGS}
    with pytest.raises(ValueError, match="non-serializable"):  # why deferrable mode gets numbers
        validate_deferrable_databricks_retry_args(DATABRICKS_RETRY_ARGS, owner="test")


def test_the_official_hook_rides_out_a_429_burst_honouring_retry_after(local_ws, sdk, add_faults):
    from airflow.providers.databricks.hooks.databricks import DatabricksHook

    cluster_id = sdk.clusters.create(
        cluster_name="retry-test", spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=0
    ).cluster_id
    try:
        add_faults({"path": "clusters/get", "method": "GET", "status": 429, "retry_after": 2, "count": 3})
        with pytest.raises(Exception, match="429"):  # the provider's default: 3 attempts, then the task fails
            DatabricksHook().get_cluster_state(cluster_id)

        add_faults({"path": "clusters/get", "method": "GET", "status": 429, "retry_after": 2, "count": 3})
        started = time.monotonic()
        state = DatabricksHook(retry_args=DATABRICKS_RETRY_ARGS).get_cluster_state(cluster_id)
        elapsed = time.monotonic() - started
        assert state.state in ("PENDING", "RUNNING")
        assert elapsed >= 3 * 2 - 0.5, elapsed  # three waits of Retry-After: 2 s (not the 1 s, 2 s backoff)
    finally:
        sdk.clusters.permanent_delete(cluster_id)


def test_a_retry_reconnects_to_the_run_its_failed_try_submitted(run_dag, dag_id, sdk, add_faults, ti_states):
    """Why the example DAG gives its processing jobs ``retries``: the first try submits, then dies polling (a
    permanent error stands in for its lost worker); the retry finds the run id the provider stored in the task
    state (its ``durable`` mode, Airflow 3.3+) and follows that run to success: the notebook ran once."""
    import base64

    from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
    from airflow.sdk import DAG

    path = f"/Shared/{dag_id}"
    sdk.api_client.do(
        "POST",
        "/api/2.0/workspace/import",
        body={
            "path": path,
            "format": "SOURCE",
            "language": "PYTHON",
            "overwrite": True,
            "content": base64.b64encode(b"# Databricks notebook source\nimport time\ntime.sleep(1)\n").decode(),
        },
    )
    cluster_id = (
        sdk.clusters.create(
            cluster_name=dag_id, spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=0
        )
        .result()
        .cluster_id
    )
    try:
        with DAG(dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
            DatabricksSubmitRunOperator(
                task_id="run_notebook",
                json={"run_name": dag_id, "existing_cluster_id": cluster_id, "notebook_task": {"notebook_path": path}},
                polling_period_seconds=0.2,
                retries=1,
                retry_delay=datetime.timedelta(seconds=0),
            )
        add_faults({"path": "jobs/runs/get", "method": "GET", "status": 400, "count": 1})
        dr = run_dag(dag)
        assert ti_states(dr) == {"run_notebook": "success"} and dr.state == "success"
        (ti,) = dr.get_task_instances()
        assert ti.try_number == 2  # the first try failed
        runs = [r for r in sdk.jobs.list_runs() if r.run_name == dag_id]
        assert len(runs) == 1, [r.run_id for r in runs]  # ...and the retry followed its run, not a new one
    finally:
        sdk.clusters.permanent_delete(cluster_id)
