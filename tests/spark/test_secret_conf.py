"""``{{secrets/<scope>/<key>}}`` in a Spark cluster's ``spark_conf``: the real driver starts with the value, a
notebook on it reads it from the Spark conf, and its output shows ``[REDACTED]``. (A key named like
``...password`` would be hidden by Spark's own redaction of sensitive conf keys, so the test uses another.)

Named to run after the tests that start the session's shared cluster: the metastore is up by then, and this
test pays for one driver start only."""

from __future__ import annotations

import hashlib
import time
import uuid

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ImportFormat, Language

from .conftest import CLUSTER, TERMINAL, wait_cluster

NOTEBOOK = """# Databricks notebook source
import hashlib
value = spark.conf.get("spark.airbricks.test.dsn")
print("conf password", value)
dbutils.notebook.exit("match" if hashlib.sha256(value.encode()).hexdigest() == dbutils.widgets.get("sha") else value)
"""


def test_spark_conf_references_reach_the_driver_and_are_redacted(spark_sdk: WorkspaceClient, spark_ws) -> None:
    scope, value = f"spark-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}"
    spark_sdk.secrets.create_scope(scope)
    spark_sdk.secrets.put_secret(scope, "pw", string_value=value)
    path = f"/Shared/spark-secrets/{scope}"
    spark_sdk.workspace.mkdirs("/Shared/spark-secrets")
    spark_sdk.workspace.upload(path, NOTEBOOK.encode(), format=ImportFormat.SOURCE, language=Language.PYTHON)
    cluster = spark_sdk.clusters.create(cluster_name="secret-conf", **{**CLUSTER, "num_workers": 0}, spark_conf={
        "spark.airbricks.test.dsn": f"{{{{secrets/{scope}/pw}}}}"}).response.cluster_id
    try:
        wait_cluster(spark_sdk, cluster)
        run_id = spark_sdk.jobs.submit(run_name="conf", tasks=[jobs.SubmitTask(
            task_key="read", existing_cluster_id=cluster, notebook_task=jobs.NotebookTask(
                notebook_path=path, base_parameters={"sha": hashlib.sha256(value.encode()).hexdigest()}))]).run_id
        deadline = time.monotonic() + 120
        while (run := spark_sdk.jobs.get_run(run_id)).state.life_cycle_state.value not in TERMINAL:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        task_run = run.tasks[0].run_id
        output = spark_sdk.jobs.get_run_output(task_run)
        assert output.notebook_output and output.notebook_output.result == "match", (output.error, run.state)
        exported = "".join(v.content for v in spark_sdk.jobs.export_run(task_run).views)
        assert "conf password [REDACTED]" in exported and value not in exported
        assert spark_sdk.clusters.get(cluster).spark_conf["spark.airbricks.test.dsn"].startswith("{{secrets/")
    finally:
        spark_sdk.clusters.permanent_delete(cluster)
        spark_sdk.secrets.delete_scope(scope)
    data = spark_ws.workspace.data_dir
    found = [str(p) for p in data.rglob("*") if p.is_file() and "site-packages" not in p.parts
             and value.encode() in p.read_bytes()]
    assert found == [], f"secret value in plain text in {found}"
