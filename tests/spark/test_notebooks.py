"""Notebooks on a Spark cluster, through real HTTP, real processes and a real Spark Connect driver."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs

from .conftest import notebook_result, run_task


def _put(sdk: WorkspaceClient, path: str, text: str) -> None:
    sdk.dbfs.put(path, contents=base64.b64encode(text.encode()).decode(), overwrite=True)


def test_spark_read_on_dbfs_sql_display_and_a_table(
    spark_sdk: WorkspaceClient, spark_cluster: str, notebook: Callable[[str], str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    _put(spark_sdk, f"dbfs:/landing/{tag}/sales.csv", "city,amount\nOslo,3\nLima,4\nOslo,5\n")
    path = notebook(f"""df = spark.read.option("header", True).option("inferSchema", True).csv("dbfs:/landing/{tag}/sales.csv")
display(df)
df.write.mode("overwrite").saveAsTable("sales_{tag}")
# COMMAND ----------
# MAGIC %sql
# MAGIC SELECT city, sum(amount) AS total FROM sales_{tag} GROUP BY city ORDER BY city
# COMMAND ----------
rows = _sqldf.collect()
same = spark.read.csv("/landing/{tag}/sales.csv", header=True).count()  # DBFS is the default file system
dbutils.notebook.exit(",".join(f"{{r.city}}={{r.total}}" for r in rows) + f";rows={{same}}")
""")
    run = run_task(spark_sdk, existing_cluster_id=spark_cluster, notebook_task=jobs.NotebookTask(notebook_path=path))
    assert notebook_result(spark_sdk, run) == "Lima=4,Oslo=8;rows=3"
    page = spark_sdk.jobs.export_run(run.tasks[0].run_id).views[0].content
    assert "<th>city</th><th>amount</th>" in page and "<td>Lima</td><td>4</td>" in page  # display(df)
    assert "<th>city</th><th>total</th>" in page and "<td>Oslo</td><td>8</td>" in page  # the %sql result


def test_temp_views_are_per_notebook_global_temp_views_are_shared(
    spark_sdk: WorkspaceClient, spark_cluster: str, notebook: Callable[[str], str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    first = notebook(f"""spark.range(3).createOrReplaceTempView("local_{tag}")
spark.range(5).createOrReplaceGlobalTempView("shared_{tag}")
dbutils.notebook.exit(str(spark.table("local_{tag}").count()))
""")
    second = notebook(f"""local = [t.name for t in spark.catalog.listTables() if t.name == "local_{tag}"]
shared = spark.table("global_temp.shared_{tag}").count()
dbutils.notebook.exit(f"local={{len(local)}};shared={{shared}}")
""")
    task = {"existing_cluster_id": spark_cluster}
    assert notebook_result(spark_sdk, run_task(spark_sdk, **task, notebook_task=jobs.NotebookTask(first))) == "3"
    result = notebook_result(spark_sdk, run_task(spark_sdk, **task, notebook_task=jobs.NotebookTask(second)))
    assert result == "local=0;shared=5"


def test_a_spark_python_task_gets_the_clusters_session(spark_sdk: WorkspaceClient, spark_cluster: str) -> None:
    script = (
        "import sys\nfrom pyspark.sql import SparkSession\n"
        "spark = SparkSession.builder.getOrCreate()\n"
        "n = spark.range(int(sys.argv[1])).selectExpr('sum(id) AS s').collect()[0].s\n"
        "print(f'sum is {n}')\n"
    )
    path = f"dbfs:/scripts/{uuid.uuid4().hex[:8]}/job.py"
    _put(spark_sdk, path, script)
    run = run_task(
        spark_sdk,
        existing_cluster_id=spark_cluster,
        spark_python_task=jobs.SparkPythonTask(python_file=path, parameters=["10"]),
    )
    assert run.state.result_state == jobs.RunResultState.SUCCESS, run.state
    assert "sum is 45" in spark_sdk.jobs.get_run_output(run.tasks[0].run_id).logs


def test_using_delta_without_its_jars_says_exactly_that(
    spark_sdk: WorkspaceClient, spark_cluster: str, notebook: Callable[[str], str]
) -> None:
    path = notebook(f"spark.sql('CREATE TABLE d_{uuid.uuid4().hex[:8]} (x INT) USING DELTA')\n")
    run = run_task(spark_sdk, existing_cluster_id=spark_cluster, notebook_task=jobs.NotebookTask(path))
    error = spark_sdk.jobs.get_run_output(run.tasks[0].run_id).error
    assert "DATA_SOURCE_NOT_FOUND" in error and "Delta Lake is not available in this local workspace" in error
    assert "--spark-packages io.delta:delta-spark_2.13" in error
