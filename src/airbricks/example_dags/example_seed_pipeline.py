"""The seed article's pipeline, as a user writes it with airbricks.

file sensor -> upload the notebook -> create an all-purpose cluster -> two processing jobs on it (the
official ``DatabricksSubmitRunOperator``, ``existing_cluster_id`` from XCom in the seed's template form): one
loads the landed CSV into a table with Spark, one queries that table -> get the query's result
(``dbutils.notebook.exit``) -> email it -> permanently delete the cluster, whatever happened upstream.

Runs unchanged against a real workspace or the local one (``airbricks serve``): only the
``databricks_default`` connection differs. Settings come from the DAG's params so a user can try it without
editing code (trigger with ``{"fail_notebook": true}`` to see the cluster deleted after a failed run).
"""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

from airflow.providers.databricks.operators.databricks import DatabricksSubmitRunOperator
from airflow.providers.smtp.operators.smtp import EmailOperator
from airflow.sdk import DAG, Param

from airbricks.operators.api import DatabricksApiOperator
from airbricks.operators.clusters import DatabricksCreateClusterOperator, DatabricksDeleteClusterOperator
from airbricks.operators.runs import DatabricksRunOutputOperator
from airbricks.retry import databricks_retry
from airbricks.sensors.files import DatabricksFileSensor

NOTEBOOK_SOURCE = Path(__file__).parent / "notebooks" / "summarize_landing.py"
NOTEBOOK_PATH = "/Shared/airbricks_summarize_landing"  # /Shared exists in every workspace
LANDING_DIR = "dbfs:/landing/{{ ds }}"
CLUSTER_ID = "{{ ti.xcom_pull('start_cluster', key='all_purpose_cluster_id') }}"

CLUSTER_SPEC = {
    "cluster_name": "airbricks-seed-{{ ds_nodash }}",
    "spark_version": "15.4.x-scala2.12",
    "node_type_id": "i3.xlarge",
    "num_workers": 1,
    "autotermination_minutes": 30,  # a safety net only: the DAG deletes the cluster itself
}

with DAG(
    dag_id="airbricks_seed_pipeline",
    description="Wait for a landed batch, summarize it on an all-purpose cluster, mail the result",
    schedule="@daily",
    start_date=datetime.datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": datetime.timedelta(seconds=5)},
    params={
        "recipient": Param("data-team@example.com", type="string"),
        "fail_notebook": Param(False, type="boolean"),
        "poll_interval": Param(2.0, type="number"),
    },
    tags=["airbricks", "example"],
) as dag:
    wait_for_landing = DatabricksFileSensor(
        task_id="wait_for_landing",
        path=f"{LANDING_DIR}/_SUCCESS",
        newer_than="{{ data_interval_start }}",
        poke_interval=2,
        timeout=30 * 60,  # fails the task at once: Airflow never retries AirflowSensorTimeout
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

    start_cluster = DatabricksCreateClusterOperator(
        task_id="start_cluster",
        cluster_spec=CLUSTER_SPEC,
        poll_interval=2,
    )

    def processing_job(task_id: str, step: str, run_name: str) -> DatabricksSubmitRunOperator:
        """One run of the notebook on the all-purpose cluster (``step`` says which job it is; the
        ``fail_notebook`` param makes the summary fail, to show the cluster deleted after a failure)."""
        return DatabricksSubmitRunOperator(
            task_id=task_id,
            json={
                "run_name": run_name,
                "existing_cluster_id": CLUSTER_ID,
                "notebook_task": {
                    "notebook_path": NOTEBOOK_PATH,
                    "base_parameters": {
                        "landing_dir": LANDING_DIR,
                        "day": "{{ ds }}",
                        "step": step,
                        "fail": "{{ 'true' if params.fail_notebook else 'false' }}" if step == "summarize" else "false",
                    },
                },
            },
            polling_period_seconds=1,
            do_xcom_push=True,
            # The DAG's retry (default_args) is safe here: the provider stores the run id in the task state
            # (its ``durable`` mode, Airflow 3.3+), so a retry after a lost worker follows the run it
            # submitted instead of running the notebook again, and only a failed run is submitted anew.
            # Ride out rate limits, 503s and dropped connections for minutes (the provider's default gives up
            # after 3 attempts within ~3 s); airbricks' own operators do this by default.
            **databricks_retry(),
        )

    load_table = processing_job("load_table", "load", "load {{ ds }} into landing_sales")
    run_notebook = processing_job("run_notebook", "summarize", "summarize {{ ds }}")

    get_result = DatabricksRunOutputOperator(task_id="get_result", run_task_id="run_notebook")

    send_result = EmailOperator(
        task_id="send_result",
        to="{{ params.recipient }}",
        subject="airbricks: landing {{ ds }} summarized",
        html_content="<p>Summary of dbfs:/landing/{{ ds }} (table landing_sales):</p>"
        "<pre>{{ ti.xcom_pull('get_result') }}</pre>",
        from_email="airflow@airbricks.local",
    )

    delete_cluster = DatabricksDeleteClusterOperator(task_id="delete_cluster", cluster_id=CLUSTER_ID)

    wait_for_landing >> upload_notebook >> start_cluster >> load_table >> run_notebook >> get_result >> send_result
    get_result >> delete_cluster.as_teardown(setups=start_cluster)
