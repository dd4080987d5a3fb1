"""The seed's query-result path with SQL: a Spark job writes the table, a SQL warehouse answers the query that
gets mailed.

file sensor -> upload the notebook -> load the landed CSV into the partitioned table ``landing_sales`` with
Spark (the seed's notebook, ``step=load``, on an all-purpose cluster) -> the day's summary with the official
``DatabricksSqlOperator`` on a SQL warehouse (through ``databricks-sql-connector``; rows to XCom) -> email it.

Runs unchanged against a real workspace or the local one (``airbricks serve --tls``): only the
``databricks_default`` connection differs (see the README's "SQL connector" section for its extra). The
cluster and the warehouse are the DAG's params: an all-purpose cluster's id (required), a warehouse's name.
"""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
from airflow.providers.databricks.operators.databricks_sql import DatabricksSqlOperator
from airflow.providers.smtp.operators.smtp import EmailOperator
from airflow.sdk import DAG, Param

from airbricks.operators.api import DatabricksApiOperator
from airbricks.sensors.files import DatabricksFileSensor

NOTEBOOK_SOURCE = Path(__file__).parent / "notebooks" / "summarize_landing.py"
NOTEBOOK_PATH = "/Shared/airbricks_summarize_landing"
LANDING_DIR = "dbfs:/landing/{{ ds }}"
SUMMARY_SQL = """
SELECT day, count(DISTINCT source_file) AS files, count(*) AS n_rows, round(sum(amount), 2) AS total_amount
FROM landing_sales WHERE day = %(day)s GROUP BY day
"""

with DAG(
    dag_id="airbricks_sql_pipeline",
    description="Load a landed batch with Spark, summarize it on a SQL warehouse, mail the result",
    schedule=None,  # triggered with the cluster to load on (a scheduled DAG cannot require a param)
    start_date=datetime.datetime(2026, 1, 1),
    max_active_runs=1,
    params={
        "cluster_id": Param(type="string", description="the all-purpose cluster that loads the batch"),
        "warehouse_name": Param("airbricks-sql", type="string", description="the SQL warehouse that summarizes"),
        "recipient": Param("data-team@example.com", type="string"),
    },
    tags=["airbricks", "example", "sql"],
) as dag:
    wait_for_landing = DatabricksFileSensor(
        task_id="wait_for_landing",
        path=f"{LANDING_DIR}/_SUCCESS",
        newer_than="{{ data_interval_start }}",
        poke_interval=2,
        timeout=30 * 60,
    )

    upload_notebook = DatabricksApiOperator(
        task_id="upload_notebook",
        method="POST",
        endpoint="api/2.0/workspace/import",
        json={
            "path": NOTEBOOK_PATH,
            "format": "SOURCE",
            "language": "PYTHON",
            "overwrite": True,
            "content": base64.b64encode(NOTEBOOK_SOURCE.read_bytes()).decode(),
        },
    )

    load_table = DatabricksSubmitRunOperator(
        task_id="load_table",
        json={
            "run_name": "load {{ ds }} into landing_sales",
            "existing_cluster_id": "{{ params.cluster_id }}",
            "notebook_task": {
                "notebook_path": NOTEBOOK_PATH,
                "base_parameters": {"landing_dir": LANDING_DIR, "day": "{{ ds }}", "step": "load", "fail": "false"},
            },
        },
        polling_period_seconds=1,
    )

    summarize = DatabricksSqlOperator(
        task_id="summarize",
        sql=SUMMARY_SQL,
        parameters={"day": "{{ ds }}"},
        hook_params={"sql_endpoint_name": "{{ params.warehouse_name }}"},  # found through the warehouses API
    )

    send_result = EmailOperator(
        task_id="send_result",
        to="{{ params.recipient }}",
        subject="airbricks: landing {{ ds }} summarized with SQL",
        html_content="{% set description, rows = ti.xcom_pull('summarize') %}"
        "<p>Table landing_sales, day {{ ds }} (SQL warehouse {{ params.warehouse_name }}):</p>"
        "<table><tr>{% for column in description %}<th>{{ column[0] }}</th>{% endfor %}</tr>"
        "{% for row in rows %}<tr>{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>"
        "{% endfor %}</table>",
        from_email="airflow@airbricks.local",
    )

    wait_for_landing >> upload_notebook >> load_table >> summarize >> send_result
