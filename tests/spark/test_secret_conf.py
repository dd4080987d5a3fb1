"""``{{secrets/<scope>/<key>}}`` in a Spark cluster's ``spark_conf``: the real driver starts with the value, a
notebook on it reads it from the Spark conf, and its output shows ``[REDACTED]``; no command line of the
workspace's process tree holds the value (the driver's settings come in a properties file, gone once it
listens). (A key named like
``...password`` would be hidden by Spark's own redaction of sensitive conf keys, so the test uses another.)

Named to run after the tests that start the session's shared cluster: the metastore is up by then, and this
test pays for one driver start only."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from secret_helpers import new_secret

from .conftest import CLUSTER, notebook_result, run_task, wait_cluster
from .test_sockets import descendants

NOTEBOOK = """import hashlib
import os
from pathlib import Path
value = spark.conf.get("spark.airbricks.test.dsn")
print("conf password", value)
dbutils.notebook.exit("match" if hashlib.sha256(value.encode()).hexdigest() == dbutils.widgets.get("sha") else value)
"""


def test_spark_conf_references_reach_the_driver_and_are_redacted(
    spark_sdk: WorkspaceClient, spark_ws, notebook
) -> None:
    scope, value = new_secret(spark_sdk, "spark", "pw")
    cluster = spark_sdk.clusters.create(
        cluster_name="secret-conf",
        **{**CLUSTER, "num_workers": 0},
        spark_conf={"spark.airbricks.test.dsn": f"{{{{secrets/{scope}/pw}}}}"},
        spark_env_vars={"AIRBRICKS_TEST_ENV": f"{{{{secrets/{scope}/pw}}}}"},
    ).response.cluster_id
    try:
        wait_cluster(spark_sdk, cluster)
        # No process of the workspace's tree has the value in its arguments (the settings went in a file)...
        arguments = {pid: _cmdline(pid) for pid in descendants(os.getpid())}
        drivers = [args for args in arguments.values() if f"airbricks cluster {cluster}".encode() in args]
        assert drivers and all(b"--properties-file" in args for args in drivers), drivers
        assert [pid for pid, args in arguments.items() if value.encode() in args] == []
        # ... and that file is gone once the driver listens (it read it long before).
        files = [args.split(b"\0")[args.split(b"\0").index(b"--properties-file") + 1] for args in drivers]
        assert [f for f in files if Path(f.decode()).exists()] == []
        run = run_task(
            spark_sdk,
            existing_cluster_id=cluster,
            notebook_task=jobs.NotebookTask(
                notebook_path=notebook(NOTEBOOK), base_parameters={"sha": hashlib.sha256(value.encode()).hexdigest()}
            ),
        )
        assert notebook_result(spark_sdk, run) == "match"
        exported = "".join(v.content for v in spark_sdk.jobs.export_run(run.tasks[0].run_id).views)
        assert "conf password [REDACTED]" in exported and value not in exported
        assert spark_sdk.clusters.get(cluster).spark_conf["spark.airbricks.test.dsn"].startswith("{{secrets/")
    finally:
        spark_sdk.clusters.permanent_delete(cluster)
        spark_sdk.secrets.delete_scope(scope)
    data = spark_ws.workspace.data_dir
    found = [
        str(p)
        for p in data.rglob("*")
        if p.is_file() and "site-packages" not in p.parts and value.encode() in p.read_bytes()
    ]
    assert found == [], f"secret value in plain text in {found}"


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""
