"""DatabricksRunOutputOperator after the provider's DatabricksSubmitRunOperator, on real notebook runs."""

from __future__ import annotations

import base64
import datetime
from typing import Any

import pytest

NOTEBOOK = """# Databricks notebook source
import json
dbutils.widgets.text("value", "")
dbutils.widgets.text("fail", "false")
dbutils.widgets.text("size", "0")
dbutils.widgets.text("sleep", "0")

# COMMAND ----------

if dbutils.widgets.get("fail") == "true":
    raise ValueError("asked to fail: " + dbutils.widgets.get("value"))
__import__("time").sleep(float(dbutils.widgets.get("sleep")))
size = int(dbutils.widgets.get("size"))
dbutils.notebook.exit("x" * size if size else dbutils.widgets.get("value"))
"""

NEW_CLUSTER = {"spark_version": "15.4.x-scala2.12", "node_type_id": "i3.xlarge", "num_workers": 1}


@pytest.fixture(scope="module")
def notebook(sdk) -> str:
    from databricks.sdk.service.workspace import ImportFormat, Language

    path = "/Shared/airbricks-tests/exit_value"
    sdk.workspace.mkdirs("/Shared/airbricks-tests")
    sdk.workspace.import_(
        path,
        content=base64.b64encode(NOTEBOOK.encode()).decode(),
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
        overwrite=True,
    )
    return path


def _task(key: str, notebook: str, **params: str) -> dict[str, Any]:
    return {
        "task_key": key,
        "notebook_task": {"notebook_path": notebook, "base_parameters": params},
        "new_cluster": NEW_CLUSTER,
    }


def _run_dag(run_dag, dag_id: str, sink: dict, tasks: list[dict[str, Any]], **output_kwargs: Any):
    from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
    from airflow.sdk import DAG, task

    from airbricks.operators.runs import DatabricksRunOutputOperator

    def on_failure(context):
        sink["error"] = str(context.get("exception"))

    with DAG(dag_id=dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
        submit = DatabricksSubmitRunOperator(
            task_id="submit", json={"run_name": dag_id, "tasks": tasks}, polling_period_seconds=0.2
        )
        output_kwargs.setdefault("run_task_id", "submit")
        output = DatabricksRunOutputOperator(
            task_id="get_result", trigger_rule="all_done", on_failure_callback=on_failure, **output_kwargs
        )

        @task
        def record(value, **context):
            from airflow.models.taskinstancekey import TaskInstanceKey

            from airbricks.links import DatabricksRunLink

            ti = context["ti"]
            sink["result"] = value
            sink["run_id"] = ti.xcom_pull(task_ids="submit", key="run_id")
            sink["link"] = DatabricksRunLink().get_link(
                None, ti_key=TaskInstanceKey(ti.dag_id, "get_result", ti.run_id, ti.try_number, -1)
            )

        submit >> output
        record(output.output)
    return run_dag(dag)


def test_single_task_returns_the_exit_string(run_dag, dag_id, sink, notebook, sdk, ti_states):
    dr = _run_dag(run_dag, dag_id, sink, [_task("only", notebook, value="42")])
    assert ti_states(dr) == {"submit": "success", "get_result": "success", "record": "success"}
    assert sink["result"] == "42"
    assert sink["link"] and sink["link"] == sdk.jobs.get_run(sink["run_id"]).run_page_url


def test_run_id_given_directly_with_json_decoding(run_dag, dag_id, sink, notebook, ti_states):
    dr = _run_dag(
        run_dag,
        dag_id,
        sink,
        [_task("only", notebook, value='{"rows": 3}')],
        run_task_id=None,
        run_id="{{ ti.xcom_pull(task_ids='submit', key='run_id') }}",
        decode_json=True,
    )
    assert ti_states(dr)["get_result"] == "success"
    assert sink["result"] == {"rows": 3}


def test_multi_task_returns_a_dict_by_task_key(run_dag, dag_id, sink, notebook, ti_states):
    tasks = [
        _task("first", notebook, value="a"),
        {**_task("second", notebook, value="b"), "depends_on": [{"task_key": "first"}]},
    ]
    dr = _run_dag(run_dag, dag_id, sink, tasks)
    assert ti_states(dr)["get_result"] == "success"
    assert sink["result"] == {"first": "a", "second": "b"}


def test_failed_notebook_fails_with_state_message_and_task_error(run_dag, dag_id, sink, notebook, ti_states):
    dr = _run_dag(run_dag, dag_id, sink, [_task("boom", notebook, value="bad batch", fail="true")])
    assert ti_states(dr)["submit"] == "failed"
    assert ti_states(dr)["get_result"] == "failed"
    assert "FAILED" in sink["error"]
    assert "boom:" in sink["error"] and "asked to fail: bad batch" in sink["error"]
    assert "result" not in sink


def test_truncated_output_is_returned_and_logged(run_dag, dag_id, sink, notebook, ti_states, caplog):
    import logging

    caplog.set_level(logging.INFO)
    dr = _run_dag(run_dag, dag_id, sink, [_task("big", notebook, size="6000000")])
    assert ti_states(dr)["get_result"] == "success"
    assert 0 < len(sink["result"]) < 6_000_000
    assert "truncated" in caplog.text


def test_unfinished_run_is_refused(run_dag, dag_id, sink, notebook, sdk, ti_states):
    from airflow.sdk import DAG
    from databricks.sdk.service.compute import ClusterSpec
    from databricks.sdk.service.jobs import NotebookTask, SubmitTask

    from airbricks.operators.runs import DatabricksRunOutputOperator

    run = sdk.jobs.submit(
        run_name=dag_id,
        tasks=[
            SubmitTask(
                task_key="slow",
                notebook_task=NotebookTask(notebook_path=notebook, base_parameters={"sleep": "30"}),
                new_cluster=ClusterSpec(spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=1),
            )
        ],
    )
    try:
        with DAG(dag_id=dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
            DatabricksRunOutputOperator(
                task_id="get_result",
                run_id=run.run_id,
                on_failure_callback=lambda ctx: sink.update(error=str(ctx["exception"])),
            )
        dr = run_dag(dag)
        assert ti_states(dr) == {"get_result": "failed"}
        assert "is not finished" in sink["error"]
    finally:
        sdk.jobs.cancel_run(run.run_id).result()  # its job cluster goes away with it


def test_needs_exactly_one_of_run_id_and_run_task_id():
    from airbricks.operators.runs import DatabricksRunOutputOperator

    with pytest.raises(ValueError, match="exactly one"):
        DatabricksRunOutputOperator(task_id="x")
    with pytest.raises(ValueError, match="exactly one"):
        DatabricksRunOutputOperator(task_id="x", run_id=1, run_task_id="submit")
