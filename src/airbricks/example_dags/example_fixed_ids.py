"""A DAG written for a real workspace: it names its objects by the ids they have there.

The shared all-purpose cluster, the reporting SQL warehouse, the nightly job and the saved query were made in
the workspace's UI; the DAG hard-codes their ids, as production DAGs do. It runs unmodified against a local
workspace started with the fixtures file beside it, which creates those objects with those ids::

    airbricks serve --fixtures src/airbricks/example_dags/example_fixed_ids.yaml

Only the connection changes (``databricks_default`` pointing at the local workspace).
"""

from __future__ import annotations

import datetime

from airflow.providers.databricks.operators.databricks import DatabricksRunNowOperator, DatabricksSubmitRunOperator
from airflow.sdk import DAG

from airbricks.operators.clusters import DatabricksStartClusterOperator
from airbricks.operators.runs import DatabricksRunOutputOperator

CLUSTER_ID = "0923-164208-meows279"  # the team's shared all-purpose cluster
WAREHOUSE_ID = "475b94ddc7cd5211"  # the reporting SQL warehouse (http_path /sql/1.0/warehouses/475b94ddc7cd5211)
JOB_ID = "123456789012345"  # the nightly job, defined in the Jobs UI (the provider takes it as a string)
QUERY_ID = "9c0e3a4e-1f1e-4c43-9a5f-2c2b7c1d2e3f"  # the saved query "daily totals"

with DAG(
    dag_id="airbricks_fixed_ids",
    schedule="@daily",
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    tags=["airbricks", "example"],
) as dag:
    start_cluster = DatabricksStartClusterOperator(task_id="start_cluster", cluster_id=CLUSTER_ID)
    summarize = DatabricksSubmitRunOperator(
        task_id="summarize",
        json={
            "run_name": "summarize {{ ds }}",
            "tasks": [
                {
                    "task_key": "summarize",
                    "existing_cluster_id": CLUSTER_ID,
                    "notebook_task": {"notebook_path": "/Shared/etl/summarize", "base_parameters": {"day": "{{ ds }}"}},
                }
            ],
        },
    )
    summary = DatabricksRunOutputOperator(task_id="summary", run_task_id="summarize")
    daily_totals = DatabricksSubmitRunOperator(
        task_id="daily_totals",
        json={
            "run_name": "daily totals {{ ds }}",
            "tasks": [
                {"task_key": "totals", "sql_task": {"warehouse_id": WAREHOUSE_ID, "query": {"query_id": QUERY_ID}}}
            ],
        },
    )
    nightly = DatabricksRunNowOperator(task_id="nightly_job", job_id=JOB_ID, notebook_params={"day": "{{ ds }}"})

    start_cluster >> summarize >> summary
    start_cluster >> nightly
