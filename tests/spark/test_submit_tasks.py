"""Jar and spark-submit tasks: a jar built here with the JDK's javac and jar, run by spark-submit with its
cluster's Spark settings (so it sees the same tables as the cluster's notebooks)."""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import compute, jobs
from databricks.sdk.service.workspace import ImportFormat, Language

from .conftest import notebook_result, run_task

MAIN = """import org.apache.spark.sql.SparkSession;

public class CountTable {
    public static void main(String[] args) {
        SparkSession spark = SparkSession.builder().getOrCreate();
        long n = spark.table(args[0]).count();
        System.out.println("rows in " + args[0] + ": " + n);
        spark.stop();
    }
}
"""


PLUS_ONE = """import org.apache.spark.sql.api.java.UDF1;

public class PlusOne implements UDF1<Long, Long> {
    public Long call(Long x) { return x + 1; }
}
"""


@pytest.fixture(scope="module")
def jar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from airbricks.workspace.compute.spark.install import find_spark

    javac, jar_tool = shutil.which("javac"), shutil.which("jar")
    if javac is None or jar_tool is None:
        pytest.fail("these tests build a jar with the JDK's javac and jar, which are not on PATH")
    work = tmp_path_factory.mktemp("jar")
    (work / "CountTable.java").write_text(MAIN)
    (work / "PlusOne.java").write_text(PLUS_ONE)
    classpath = f"{find_spark().jars}/*"
    subprocess.run(
        [
            javac,
            "-cp",
            classpath,
            "-d",
            str(work / "classes"),
            str(work / "CountTable.java"),
            str(work / "PlusOne.java"),
        ],
        check=True,
    )
    subprocess.run([jar_tool, "cf", str(work / "count-table.jar"), "-C", str(work / "classes"), "."], check=True)
    return work / "count-table.jar"


@pytest.fixture(scope="module")
def table(spark_sdk: WorkspaceClient, spark_cluster: str) -> str:
    name = f"for_jars_{uuid.uuid4().hex[:8]}"
    path = f"/Shared/spark-tests/{name}"
    spark_sdk.workspace.mkdirs("/Shared/spark-tests")
    spark_sdk.workspace.upload(
        path,
        f"# Databricks notebook source\nspark.range(6).write.saveAsTable('{name}')\n"
        "dbutils.notebook.exit('ok')\n".encode(),
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
    )
    assert (
        notebook_result(
            spark_sdk, run_task(spark_sdk, existing_cluster_id=spark_cluster, notebook_task=jobs.NotebookTask(path))
        )
        == "ok"
    )
    return name


def _upload_jar(sdk: WorkspaceClient, jar: Path) -> str:
    target = f"dbfs:/jars/{uuid.uuid4().hex[:8]}/{jar.name}"
    handle = sdk.dbfs.create(target, overwrite=True).handle
    data = jar.read_bytes()
    for start in range(0, len(data), 512 * 1024):
        sdk.dbfs.add_block(handle, base64.b64encode(data[start : start + 512 * 1024]).decode())
    sdk.dbfs.close(handle)
    return target


def test_a_spark_jar_task_runs_its_main_class(
    spark_sdk: WorkspaceClient, spark_cluster: str, jar: Path, table: str
) -> None:
    target = _upload_jar(spark_sdk, jar)
    run = run_task(
        spark_sdk,
        existing_cluster_id=spark_cluster,
        libraries=[compute.Library(jar=target)],
        spark_jar_task=jobs.SparkJarTask(main_class_name="CountTable", parameters=[table]),
    )
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state
    assert f"rows in {table}: 6" in spark_sdk.jobs.get_run_output(run.tasks[0].run_id).logs


def test_a_spark_submit_task_passes_its_arguments(
    spark_sdk: WorkspaceClient, spark_cluster: str, jar: Path, table: str
) -> None:
    target = _upload_jar(spark_sdk, jar)
    run = run_task(
        spark_sdk,
        existing_cluster_id=spark_cluster,
        spark_submit_task=jobs.SparkSubmitTask(parameters=["--class", "CountTable", target, table]),
    )
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state
    assert f"rows in {table}: 6" in spark_sdk.jobs.get_run_output(run.tasks[0].run_id).logs
    failing = run_task(
        spark_sdk,
        existing_cluster_id=spark_cluster,
        spark_submit_task=jobs.SparkSubmitTask(parameters=["--class", "CountTable", target, "no_such_table"]),
    )
    assert failing.state.result_state == jobs.RunResultState.FAILED
    output = spark_sdk.jobs.get_run_output(failing.tasks[0].run_id)
    assert output.error.startswith(
        "RuntimeError: spark-submit exited with code 1: org.apache.spark.sql.AnalysisException"
    )
    assert "no_such_table" in output.error and "TABLE_OR_VIEW_NOT_FOUND" in output.logs


def test_a_jar_installed_on_the_cluster_serves_a_java_udf_to_its_notebooks(
    spark_sdk: WorkspaceClient, spark_cluster: str, jar: Path
) -> None:
    target = _upload_jar(spark_sdk, jar)
    spark_sdk.libraries.install(spark_cluster, [compute.Library(jar=target)])
    deadline = time.monotonic() + 60
    while (
        status := next(s for s in spark_sdk.libraries.cluster_status(spark_cluster) if s.library.jar == target)
    ).status != compute.LibraryInstallStatus.INSTALLED:
        assert status.status != compute.LibraryInstallStatus.FAILED, status.messages
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    path = "/Shared/spark-tests/java_udf"
    spark_sdk.workspace.mkdirs("/Shared/spark-tests")
    spark_sdk.workspace.upload(
        path,
        b"# Databricks notebook source\n"
        b"spark.udf.registerJavaFunction('plus_one', 'PlusOne', 'bigint')\n"
        b"dbutils.notebook.exit(str(spark.sql('SELECT plus_one(41L) AS v').first().v))\n",
        format=ImportFormat.SOURCE,
        language=Language.PYTHON,
        overwrite=True,
    )
    assert (
        notebook_result(
            spark_sdk, run_task(spark_sdk, existing_cluster_id=spark_cluster, notebook_task=jobs.NotebookTask(path))
        )
        == "42"
    )


def test_a_jar_task_without_a_cluster_is_refused(spark_sdk: WorkspaceClient) -> None:
    from databricks.sdk.errors import InvalidParameterValue

    with pytest.raises(InvalidParameterValue, match="a spark_jar_task needs a cluster"):
        spark_sdk.jobs.submit(
            run_name="nocluster",
            tasks=[jobs.SubmitTask(task_key="t", spark_jar_task=jobs.SparkJarTask(main_class_name="X"))],
        )
