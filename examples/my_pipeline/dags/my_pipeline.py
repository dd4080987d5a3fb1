"""An example user's pipeline: wait for the day's sales file, summarize it in a notebook on a cluster, keep
the result, delete the cluster whatever happened.

The notebook lives in the workspace at /Workspace/Shared/my_pipeline/summarize (the team's CI uploads the
notebooks/ folder there); the file lands at dbfs:/landing/<day>/sales.csv.
"""

from __future__ import annotations

import datetime

from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
from airflow.sdk import DAG

from airbricks.operators import (
    DatabricksCreateClusterOperator,
    DatabricksDeleteClusterOperator,
    DatabricksRunOutputOperator,
)
from airbricks.sensors.files import DatabricksFileSensor

LANDING_FILE = "dbfs:/landing/{{ ds }}/sales.csv"
CLUSTER_ID = "{{ ti.xcom_pull('start_cluster', key='all_purpose_cluster_id') }}"

with DAG(
    dag_id="my_pipeline",
    schedule="@daily",
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    tags=["example"],
) as dag:
    wait_for_landing = DatabricksFileSensor(task_id="wait_for_landing", path=LANDING_FILE, poke_interval=1, timeout=60)
    start_cluster = DatabricksCreateClusterOperator(
        task_id="start_cluster",
        cluster_spec={
            "cluster_name": "my-pipeline-{{ ds_nodash }}",
            "spark_version": "15.4.x-scala2.12",
            "node_type_id": "i3.xlarge",
            "num_workers": 1,
            "autotermination_minutes": 30,
        },
        poll_interval=1,
    )
    summarize = DatabricksSubmitRunOperator(
        task_id="summarize",
        json={
            "run_name": "summarize {{ ds }}",
            "existing_cluster_id": CLUSTER_ID,
            "notebook_task": {
                "notebook_path": "/Workspace/Shared/my_pipeline/summarize",
                "base_parameters": {"landing_file": LANDING_FILE},
            },
        },
        polling_period_seconds=1,
        do_xcom_push=True,
        retries=0,
    )
    get_result = DatabricksRunOutputOperator(task_id="get_result", run_task_id="summarize")
    delete_cluster = DatabricksDeleteClusterOperator(task_id="delete_cluster", cluster_id=CLUSTER_ID)

    wait_for_landing >> start_cluster >> summarize >> get_result
    get_result >> delete_cluster.as_teardown(setups=start_cluster)
