"""Databricks SQL as its users write it (issue 25), through real clients on real Spark: three-level names
(``hive_metastore.`` / ``main.``), ``USE CATALOG``, ``current_catalog()``, ``SHOW CATALOGS``, a missing
catalog, each ``CREATE OR REPLACE`` form, ``COPY INTO``, query history and the Delta-only statements'
message, through the Statement Execution API, a notebook (``spark.sql`` and ``%sql``) and the SQL connector
in Airflow. One statement list per client keeps it fast.
"""

from __future__ import annotations

import datetime
import io
import json
import time
import uuid
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.catalog import VolumeType
from databricks.sdk.service.sql import QueryFilter, QueryStatus, TimeRange
from tests.test_readme import ROOT, python_blocks

from airbricks.workspace.server.serve import LocalWorkspace

from .conftest import notebook_result, run_task
from .test_sql_connector import WAREHOUSE_NAME, connection


def _sql(sdk: WorkspaceClient, warehouse: str, text: str, **kw: str) -> tuple[str, object]:
    response = sdk.statement_execution.execute_statement(text, warehouse, wait_timeout="50s", **kw)
    state = response.status.state.value
    if state != "SUCCEEDED":
        return state, response.status.error.message
    return state, response.result.data_array if response.result else None


def test_three_level_names_replace_and_delta_errors_through_the_statements_api(
    spark_sdk: WorkspaceClient, spark_warehouse: str
) -> None:
    schema = f"d_{uuid.uuid4().hex[:8]}"
    started = int(time.time() * 1000)
    run = lambda text, **kw: _sql(spark_sdk, spark_warehouse, text, **kw)  # noqa: E731
    assert run(f"CREATE SCHEMA hive_metastore.{schema}")[0] == "SUCCEEDED"
    assert run(f"CREATE OR REPLACE TABLE main.{schema}.t AS SELECT 1 AS a")[0] == "SUCCEEDED"
    assert run(f"CREATE OR REPLACE TABLE hive_metastore.{schema}.t AS SELECT 2 AS a, 'x' AS b")[0] == "SUCCEEDED"
    assert run(f"SELECT a, b FROM main.{schema}.t") == ("SUCCEEDED", [["2", "x"]])
    assert run(f"SELECT count(*) FROM hive_metastore.{schema}.t") == ("SUCCEEDED", [["1"]])
    assert run(f"CREATE OR REPLACE TABLE {schema}.u (id INT, name STRING)")[0] == "SUCCEEDED"
    assert run(f"INSERT INTO main.{schema}.u VALUES (1, 'one')")[0] == "SUCCEEDED"
    assert run(f"REPLACE TABLE main.{schema}.u (id BIGINT)")[0] == "SUCCEEDED"
    assert run(f"SELECT count(*) FROM {schema}.u") == ("SUCCEEDED", [["0"]])
    state, message = run(f"REPLACE TABLE main.{schema}.missing (id INT)")
    assert state == "FAILED" and "TABLE_OR_VIEW_NOT_FOUND" in str(message)
    # the statement's catalog / schema fields, and what current_catalog() answers
    assert run("SELECT current_catalog(), current_schema()", catalog="hive_metastore", schema=schema) == (
        "SUCCEEDED",
        [["hive_metastore", schema]],
    )
    assert run("SELECT a FROM t", catalog="main", schema=schema) == ("SUCCEEDED", [["2"]])
    assert run("SELECT current_catalog()") == ("SUCCEEDED", [["main"]])
    catalogs = run("SHOW CATALOGS")
    assert catalogs[0] == "SUCCEEDED" and {"main", "hive_metastore"} <= {r[0] for r in catalogs[1]}  # type: ignore[union-attr]
    state, message = run("SELECT * FROM nope.s.t")
    assert state == "FAILED" and str(message).startswith("[NO_SUCH_CATALOG_EXCEPTION] Catalog 'nope' was not found")
    state, message = run("USE CATALOG nope")
    assert state == "FAILED" and "[NO_SUCH_CATALOG_EXCEPTION] Catalog 'nope'" in str(message)
    state, message = run(
        f"MERGE INTO main.{schema}.u AS t USING main.{schema}.t AS s ON t.id = s.a WHEN MATCHED THEN DELETE"
    )
    assert state == "FAILED" and "MERGE INTO needs a Delta table" in str(message) and "--spark-packages" in str(message)
    # query history: the statements above, filtered as the SDK sends it (dot notation, repeated keys)
    me = int(spark_sdk.current_user.me().id or 0)
    history = spark_sdk.query_history.list(
        filter_by=QueryFilter(
            statuses=[QueryStatus.FAILED],
            warehouse_ids=[spark_warehouse],
            user_ids=[me],
            query_start_time_range=TimeRange(start_time_ms=started),
        ),
        max_results=3,
    )
    texts = [q.query_text or "" for q in history.res or []]
    assert len(texts) == 3 and history.has_next_page and history.next_page_token
    assert texts[0].startswith("MERGE INTO") and texts[1] == "USE CATALOG nope"  # newest first
    (merge, *_) = history.res or []
    assert merge.status == QueryStatus.FAILED and merge.user_id == me and "Delta" in (merge.error_message or "")
    rest = spark_sdk.query_history.list(
        filter_by=QueryFilter(statuses=[QueryStatus.FAILED], query_start_time_range=TimeRange(start_time_ms=started)),
        page_token=history.next_page_token,
    )
    assert [q.query_text for q in rest.res or []] == [f"REPLACE TABLE main.{schema}.missing (id INT)"]


def test_other_catalogs_and_encoded_schemas_through_the_statements_api(
    spark_sdk: WorkspaceClient, spark_warehouse: str
) -> None:
    """A catalog made with the catalogs API: its three-part names reach the metastore database of the names
    contract (the tables API sees the table the SQL made); a schema Hive refuses (`my-...`) takes writes too;
    SHOW CATALOGS lists the workspace's catalogs, not Spark's spark_catalog."""
    catalog, odd = f"files_{uuid.uuid4().hex[:6]}", f"my-{uuid.uuid4().hex[:6]}"
    spark_sdk.catalogs.create(name=catalog)
    spark_sdk.schemas.create(name="raw", catalog_name=catalog)
    run = lambda text, **kw: _sql(spark_sdk, spark_warehouse, text, **kw)  # noqa: E731
    for text in (
        f"CREATE SCHEMA {catalog}.staging",
        f"CREATE TABLE {catalog}.raw.t (a INT, day STRING) PARTITIONED BY (day)",
        f"INSERT INTO {catalog}.raw.t VALUES (1, 'mon'), (2, 'tue')",
        f"CREATE OR REPLACE TABLE {catalog}.staging.s AS SELECT a * 10 AS b FROM {catalog}.raw.t",
        f"CREATE SCHEMA `{odd}`",
        f"CREATE TABLE main.`{odd}`.t AS SELECT 'x' AS c",
        f"INSERT INTO `{odd}`.t VALUES ('y')",
    ):
        assert run(text)[0] == "SUCCEEDED", (text, run(text))
    assert run(f"SELECT a, day FROM {catalog}.raw.t ORDER BY a") == ("SUCCEEDED", [["1", "mon"], ["2", "tue"]])
    assert run("SELECT sum(b) FROM s", catalog=catalog, schema="staging") == ("SUCCEEDED", [["30"]])
    assert run(f"SELECT count(*) FROM hive_metastore.`{odd}`.t") == ("SUCCEEDED", [["2"]])
    assert spark_sdk.tables.get(f"{catalog}.raw.t").full_name == f"{catalog}.raw.t"
    assert spark_sdk.tables.get(f"main.{odd}.t").full_name == f"main.{odd}.t"
    state, names = run("SHOW CATALOGS")
    shown = [row[0] for row in names]  # type: ignore[union-attr]
    assert state == "SUCCEEDED" and {catalog, "main", "hive_metastore"} <= set(shown)
    assert "spark_catalog" not in shown and shown == sorted(shown)
    state, message = run("SELECT * FROM nope.raw.t")
    assert state == "FAILED" and str(message).startswith("[NO_SUCH_CATALOG_EXCEPTION] Catalog 'nope' was not found")


def test_three_level_names_and_replace_in_a_notebook(spark_sdk: WorkspaceClient, spark_cluster: str, notebook) -> None:  # type: ignore[no-untyped-def]
    schema, other = f"n_{uuid.uuid4().hex[:8]}", f"files_{uuid.uuid4().hex[:6]}"
    spark_sdk.catalogs.create(name=other)  # a catalog of the workspace: the kernel asks for them over its channel
    source = f"""
# MAGIC %sql
# MAGIC CREATE SCHEMA hive_metastore.{schema};
# MAGIC CREATE OR REPLACE TABLE main.{schema}.v AS SELECT 'one' AS s;
# MAGIC CREATE OR REPLACE TABLE main.{schema}.v AS SELECT 'sql' AS s;
# MAGIC SELECT * FROM hive_metastore.{schema}.v

# COMMAND ----------

import json
out = {{"sql": [r.s for r in _sqldf.collect()]}}
spark.sql("USE CATALOG hive_metastore")
out["catalog"] = spark.sql("SELECT current_catalog()").first()[0]
spark.sql("CREATE OR REPLACE TABLE main.{schema}.t AS SELECT 1 AS a")
spark.sql("CREATE OR REPLACE TABLE hive_metastore.{schema}.t AS SELECT 2 AS a")
out["ctas"] = [r.a for r in spark.sql("SELECT a FROM main.{schema}.t").collect()]
spark.sql("CREATE OR REPLACE TABLE {schema}.u (id INT)")
spark.sql("REPLACE TABLE main.{schema}.u (id BIGINT, name STRING)")
out["columns"] = spark.table("hive_metastore.{schema}.u").columns
try:
    spark.sql("DELETE FROM main.{schema}.t WHERE a = 2")
except Exception as exc:
    out["delete"] = str(exc)
try:
    spark.sql("SELECT * FROM nope.{schema}.t")
except Exception as exc:
    out["missing"] = str(exc)
spark.sql("CREATE SCHEMA {other}.raw")
spark.sql("CREATE TABLE {other}.raw.t AS SELECT 7 AS a")
out["other"] = [r.a for r in spark.sql("SELECT a FROM {other}.raw.t").collect()]
out["catalogs"] = [r.catalog for r in spark.sql("SHOW CATALOGS").collect()]
dbutils.notebook.exit(json.dumps(out))
"""
    path = notebook(source)
    run = run_task(spark_sdk, notebook_task=jobs.NotebookTask(notebook_path=path), existing_cluster_id=spark_cluster)
    out = json.loads(notebook_result(spark_sdk, run))
    assert out["sql"] == ["sql"]
    assert out["catalog"] == "hive_metastore"
    assert out["ctas"] == [2]
    assert out["columns"] == ["id", "name"]
    assert "DELETE FROM needs a Delta table" in out["delete"] and "--spark-packages" in out["delete"]
    assert out["missing"].startswith("[NO_SUCH_CATALOG_EXCEPTION] Catalog 'nope' was not found")
    assert out["other"] == [7] and spark_sdk.tables.get(f"{other}.raw.t").full_name == f"{other}.raw.t"
    assert {other, "main", "hive_metastore"} <= set(out["catalogs"]) and "spark_catalog" not in out["catalogs"]


def test_the_readme_dag_three_level_names_through_the_connector(
    run_dag, spark_ws: LocalWorkspace, spark_warehouse: str, spark_sdk: WorkspaceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's SQL connector DAG, as written (the connection ``serve --tls`` prints): the provider's SQL
    operator and sensors through the connector with ``catalog="hive_metastore"`` and three-part names, each
    CREATE OR REPLACE form (REPLACE TABLE added after it)."""
    from airflow.providers.databricks.operators.databricks_sql import DatabricksSqlOperator

    monkeypatch.setenv("AIRFLOW_CONN_DATABRICKS_DEFAULT", connection(spark_ws))
    (block,) = [b for b in python_blocks((ROOT / "README.md").read_text()) if "def sales_dag" in b]
    namespace: dict[str, Any] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    dag = namespace["sales_dag"](WAREHOUSE_NAME)
    with dag:
        replace = DatabricksSqlOperator(
            task_id="replace", sql_endpoint_name=WAREHOUSE_NAME, sql="REPLACE TABLE main.shop.totals (day STRING)"
        )
    dag.get_task("read") >> replace
    result = run_dag(dag)
    assert result.task_states == {
        "build": "success",
        "read": "success",
        "landed": "success",
        "rows": "success",
        "replace": "success",
    }, result.log("build") + result.log("landed")
    _, values = result.xcom("read")
    assert [list(row) for row in values] == [["2026-01-02", 2]]
    described = _sql(spark_sdk, spark_warehouse, "DESCRIBE TABLE hive_metastore.shop.totals")
    assert described == ("SUCCEEDED", [["day", "string", None]])


def test_copy_into_from_a_volume_twice_loads_each_file_once(
    run_dag, spark_ws: LocalWorkspace, spark_warehouse: str, spark_sdk: WorkspaceClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow's DatabricksCopyIntoOperator, twice in one DAG: the second run loads nothing (files are loaded
    once); a cloud URI fails saying there is no cloud storage."""
    from airflow.providers.databricks.operators.databricks_sql import DatabricksCopyIntoOperator, DatabricksSqlOperator
    from airflow.sdk import DAG

    monkeypatch.setenv("AIRFLOW_CONN_DATABRICKS_DEFAULT", connection(spark_ws))
    catalog, schema = f"files_{uuid.uuid4().hex[:6]}", f"copy_{uuid.uuid4().hex[:6]}"
    spark_sdk.catalogs.create(name=catalog)
    spark_sdk.schemas.create(name="raw", catalog_name=catalog)
    spark_sdk.volumes.create(catalog_name=catalog, schema_name="raw", name="landing", volume_type=VolumeType.MANAGED)
    folder = f"/Volumes/{catalog}/raw/landing/orders"
    spark_sdk.files.upload(f"{folder}/a.csv", io.BytesIO(b"id,amount\n1,9.5\n2,3.25\n"))
    spark_sdk.files.upload(f"{folder}/b.csv", io.BytesIO(b"id,amount\n3,7\n"))
    table = f"hive_metastore.{schema}.orders"
    common = {"sql_endpoint_name": WAREHOUSE_NAME}
    copy = {"table_name": table, "file_location": folder, "file_format": "CSV", "format_options": {"header": "true"}}
    with DAG(f"copy_into_{schema}", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        create = DatabricksSqlOperator(
            task_id="create",
            **common,
            # the table's columns in another order than the files': COPY INTO matches them by name
            sql=[f"CREATE SCHEMA hive_metastore.{schema}", f"CREATE TABLE {table} (amount DOUBLE, id INT)"],
        )
        first = DatabricksCopyIntoOperator(task_id="copy", **common, **copy)
        again = DatabricksCopyIntoOperator(task_id="copy_again", **common, **copy)
        create >> first >> again
    result = run_dag(dag)
    assert result.task_states == {"create": "success", "copy": "success", "copy_again": "success"}, result.log("copy")
    assert _sql(spark_sdk, spark_warehouse, f"SELECT id, amount FROM {table} ORDER BY id") == (
        "SUCCEEDED",
        [["1", "9.5"], ["2", "3.25"], ["3", "7.0"]],
    )
    copy_sql = f"COPY INTO {table} FROM '{folder}' FILEFORMAT = CSV FORMAT_OPTIONS ('header' = 'true')"
    assert _sql(spark_sdk, spark_warehouse, copy_sql) == ("SUCCEEDED", [["0", "0"]])
    forced = copy_sql + " COPY_OPTIONS ('force' = 'true')"
    assert _sql(spark_sdk, spark_warehouse, forced) == ("SUCCEEDED", [["3", "3"]])
    state, message = _sql(spark_sdk, spark_warehouse, f"COPY INTO {table} FROM 's3://bucket/orders' FILEFORMAT = CSV")
    assert state == "FAILED" and "the local workspace has no cloud storage" in str(message)
