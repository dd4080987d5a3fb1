"""A notebook's printed output, displayed table and error trace reach the Airflow task log through the
run-output operator (real notebook runs, real Airflow), read from runs/export as a client reads Databricks."""

from __future__ import annotations

import base64
import datetime

import pytest

NOTEBOOK = """# Databricks notebook source
print("loaded 3 rows from the landing batch")

# COMMAND ----------

import pandas as pd

display(pd.DataFrame({"city": ["Karlsruhe", "Munich"], "orders": [2, 1]}))

# COMMAND ----------

if dbutils.widgets.get("fail") == "true":
    raise ValueError("the landing batch has no amount column")
dbutils.notebook.exit("done")
"""


@pytest.fixture(scope="module")
def notebook(sdk) -> str:
    path = "/Shared/run-output-log/printing"
    sdk.workspace.mkdirs("/Shared/run-output-log")
    sdk.api_client.do(
        "POST",
        "/api/2.0/workspace/import",
        body={
            "path": path,
            "format": "SOURCE",
            "language": "PYTHON",
            "overwrite": True,
            "content": base64.b64encode(NOTEBOOK.encode()).decode(),
        },
    )
    return path


def _dag(dag_id: str, notebook: str, fail: bool):
    from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
    from airflow.sdk import DAG

    from airbricks.operators import DatabricksRunOutputOperator

    with DAG(dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False) as dag:
        run = DatabricksSubmitRunOperator(
            task_id="run_notebook",
            polling_period_seconds=0.2,
            json={
                "run_name": "printing",
                "tasks": [
                    {
                        "task_key": "summarize",
                        "notebook_task": {
                            "notebook_path": notebook,
                            "base_parameters": {"fail": "true" if fail else "false"},
                        },
                    }
                ],
            },
        )
        run >> DatabricksRunOutputOperator(task_id="get_result", run_task_id="run_notebook", trigger_rule="all_done")
    return dag


@pytest.mark.parametrize("fail", [False, True])
def test_the_notebooks_output_and_error_are_in_the_task_log(run_dag, dag_id, notebook, ti_states, capsys, fail):
    dr = run_dag(_dag(dag_id, notebook, fail))
    assert ti_states(dr)["get_result"] == ("failed" if fail else "success")
    log = capsys.readouterr().out  # the task log, as dag.test() prints it
    assert "Output of summarize (task run " in log
    assert "[cell 1]\n  loaded 3 rows from the landing batch" in log
    assert "[cell 2]\n  city\torders\n  Karlsruhe\t2\n  Munich\t1" in log  # the displayed table
    if fail:
        assert "ERROR ValueError: the landing batch has no amount column" in log
        assert 'raise ValueError("the landing batch has no amount column")' in log  # the trace, with the line
    else:
        assert "ERROR" not in log.split("Output of summarize", 1)[1].split("[DAG TEST] end task", 1)[0]


def test_the_export_model_decodes_as_a_client_decodes_the_real_one() -> None:
    from airbricks.utils.notebook_output import command_lines, notebook_model
    from airbricks.workspace.jobs.export import render

    cells = [
        {"number": 1, "source": "print(1)", "outputs": [{"type": "text", "text": "1\n"}]},
        {"number": 2, "source": "x", "outputs": [], "error": {"error": "NameError: x", "trace": "Traceback\nx"}},
    ]
    model = notebook_model(render("/Shared/n", cells))
    assert model["commands"][0]["results"] == {"type": "raw", "data": "1\n"}
    assert command_lines(model) == ["[cell 1]", "1", "[cell 2]", "ERROR NameError: x", "Traceback", "x"]
    assert notebook_model("<html>no model here</html>") is None
