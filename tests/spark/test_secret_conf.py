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

from secret_helpers import new_secret, process_tree

from .conftest import CLUSTER, notebook_result, run_task, wait_cluster

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
        arguments = {pid: _cmdline(pid) for pid in process_tree(os.getpid())}
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


READ_PROPERTIES = """
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;
public class ReadProperties {
    public static void main(String[] args) throws IOException {
        Properties p = new Properties();
        try (Reader r = new InputStreamReader(new FileInputStream(args[0]), StandardCharsets.UTF_8)) { p.load(r); }
        for (String k : new TreeSet<>(p.stringPropertyNames())) {
            byte[] entry = (k + "\\0" + p.getProperty(k)).getBytes(StandardCharsets.UTF_8);
            System.out.println(Base64.getEncoder().encodeToString(entry));
        }
    }
}
"""


def test_a_properties_file_reads_back_as_written_and_only_its_owner_can_read_it(tmp_path: Path) -> None:
    """Java's own ``Properties.load`` (what spark-submit uses) reads back every awkward value exactly."""
    import base64
    import stat
    import subprocess

    from airbricks.workspace.compute.spark import properties
    from airbricks.workspace.compute.spark.install import find_spark

    conf = {
        "spark.a": "p=ss:w#rd!",
        "spark.b": "back\\slash and\nnew line\ttab",
        "spark.c": "ünïcode ✓",
        "key with space": "v",
        "spark.d": "# not a comment",
    }
    path = properties.write(conf)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        source = tmp_path / "ReadProperties.java"
        source.write_text(READ_PROPERTIES)
        done = subprocess.run(
            [find_spark().java, str(source), str(path)], capture_output=True, text=True, timeout=120, check=True
        )
        read = dict(base64.b64decode(line).decode().split("\0", 1) for line in done.stdout.split())
        assert read == conf
    finally:
        properties.remove(path)
    assert not path.parent.exists()
    command = ["spark-submit", "--conf", "spark.x=1=2", "--class", "A", "--conf=spark.y=", "app.jar"]
    assert properties.split_conf(command) == (
        ["spark-submit", "--class", "A", "app.jar"],
        {"spark.x": "1=2", "spark.y": ""},
    )


def test_files_a_killed_server_left_are_swept_and_fresh_ones_kept() -> None:
    import os
    import time

    from airbricks.workspace.compute.spark import properties

    old, fresh = properties.write({"spark.a": "1"}), properties.write({"spark.a": "2"})
    try:
        an_hour_ago = time.time() - 3600
        os.utime(old.parent, (an_hour_ago, an_hour_ago))
        properties.sweep(600)
        assert not old.parent.exists() and fresh.is_file()
    finally:
        properties.remove(old)
        properties.remove(fresh)
