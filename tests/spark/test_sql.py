"""SQL warehouses and the Statement Execution API on real Spark, through databricks-sdk and real HTTP.

The session's one warehouse (``spark_warehouse``) serves every test; the test that stops and starts it runs
last in tests/spark/test_sql_airflow.py.
"""

from __future__ import annotations

import io
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import DatabricksError, InvalidParameterValue, NotFound
from databricks.sdk.service import jobs
from databricks.sdk.service.sql import (
    Disposition,
    ExecuteStatementRequestOnWaitTimeout,
    Format,
    StatementParameterListItem,
)

from airbricks.workspace.server.serve import LocalWorkspace

from .conftest import notebook_result, run_task

#: Sleeps ten minutes unless canceled, in a way a canceled Spark task notices (a sleeping thread is interrupted;
#: a CPU-bound codegen loop is not, and would hold the warehouse's cores after the cancel).
LONG_QUERY = "SELECT reflect('java.lang.Thread', 'sleep', CAST(600000 + id * 0 AS BIGINT)) FROM range(1)"


def _wait_terminal(sdk: WorkspaceClient, statement_id: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        response = sdk.statement_execution.get_statement(statement_id)
        if response.status.state.value not in ("PENDING", "RUNNING"):
            return response
        assert time.monotonic() < deadline, f"statement {statement_id} still {response.status.state}"
        time.sleep(0.2)


def test_typed_named_parameters_json_array_inline(spark_sdk: WorkspaceClient, spark_warehouse: str) -> None:
    response = spark_sdk.statement_execution.execute_statement(
        "SELECT :n + 1 AS next, :day AS day, :label AS label, :flag AS flag, CAST(NULL AS STRING) AS nothing, "
        "CAST(2.50 AS DECIMAL(5,2)) AS price, array(1, 2) AS items",
        spark_warehouse,
        wait_timeout="30s",
        parameters=[
            StatementParameterListItem(name="n", value="41", type="INT"),
            StatementParameterListItem(name="day", value="2026-01-31", type="DATE"),
            StatementParameterListItem(name="label", value="it's"),
            StatementParameterListItem(name="flag", value="true", type="BOOLEAN"),
        ],
    )
    assert response.status.state.value == "SUCCEEDED", response.status
    assert response.result.data_array == [["42", "2026-01-31", "it's", "true", None, "2.50", "[1,2]"]]
    columns = {c.name: (c.type_name.value, c.type_text) for c in response.manifest.schema.columns}
    assert columns["next"] == ("INT", "INT") and columns["day"] == ("DATE", "DATE")
    assert columns["price"] == ("DECIMAL", "DECIMAL(5,2)") and columns["items"] == ("ARRAY", "ARRAY<INT>")
    assert (response.manifest.total_row_count, response.manifest.truncated) == (1, False)


def test_arrow_stream_through_external_links_the_workspace_serves(
    spark_sdk: WorkspaceClient, spark_warehouse: str
) -> None:
    import pyarrow as pa

    response = spark_sdk.statement_execution.execute_statement(
        "SELECT id, id * 2 AS twice FROM range(1000)",
        spark_warehouse,
        wait_timeout="30s",
        format=Format.ARROW_STREAM,
        disposition=Disposition.EXTERNAL_LINKS,
    )
    assert response.status.state.value == "SUCCEEDED", response.status
    link = response.result.external_links[0]
    with urllib.request.urlopen(link.external_link) as answer:  # no token: the link's secret is enough
        table = pa.ipc.open_stream(io.BytesIO(answer.read())).read_all()
    assert table.column("twice").to_pylist() == [2 * i for i in range(1000)]
    assert link.row_count == 1000 and link.byte_count > 0 and link.expiration
    forged = link.external_link.rsplit("secret=", 1)[0] + "secret=guess"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged)
    assert refused.value.code == 404


def test_arrow_stream_inline_is_an_attachment(spark_sdk: WorkspaceClient, spark_warehouse: str) -> None:
    import base64

    import pyarrow as pa

    raw = spark_sdk.api_client.do(
        "POST",
        "/api/2.0/sql/statements",
        body={
            "statement": "SELECT 'a' AS letter",
            "warehouse_id": spark_warehouse,
            "format": "ARROW_STREAM",
            "wait_timeout": "30s",
        },
    )
    table = pa.ipc.open_stream(io.BytesIO(base64.b64decode(raw["result"]["attachment"]))).read_all()
    assert table.to_pylist() == [{"letter": "a"}]


def test_a_result_larger_than_one_chunk_and_row_limit(
    spark_ws: LocalWorkspace, spark_sdk: WorkspaceClient, spark_warehouse: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spark_ws.workspace.sql, "chunk_bytes", 64 * 1024)
    response = spark_sdk.statement_execution.execute_statement(
        "SELECT id FROM range(30000)", spark_warehouse, wait_timeout="30s"
    )
    manifest = response.manifest
    assert manifest.total_chunk_count > 1 and manifest.total_row_count == 30000
    rows = list(response.result.data_array)
    index = response.result.next_chunk_index
    while index is not None:
        chunk = spark_sdk.statement_execution.get_statement_result_chunk_n(response.statement_id, index)
        assert chunk.row_offset == len(rows)
        rows += chunk.data_array
        index = chunk.next_chunk_index
    assert [int(r[0]) for r in rows] == list(range(30000))
    limited = spark_sdk.statement_execution.execute_statement(
        "SELECT id FROM range(100)", spark_warehouse, wait_timeout="30s", row_limit=10
    )
    assert (limited.manifest.total_row_count, limited.manifest.truncated) == (10, True)


def test_cancel_a_long_statement_and_cancel_on_wait_timeout(spark_sdk: WorkspaceClient, spark_warehouse: str) -> None:
    started = spark_sdk.statement_execution.execute_statement(LONG_QUERY, spark_warehouse, wait_timeout="0s")
    assert started.status.state.value in ("PENDING", "RUNNING")
    time.sleep(1)
    spark_sdk.statement_execution.cancel_execution(started.statement_id)
    assert _wait_terminal(spark_sdk, started.statement_id, timeout=60).status.state.value == "CANCELED"
    timed_out = spark_sdk.statement_execution.execute_statement(
        LONG_QUERY, spark_warehouse, wait_timeout="5s", on_wait_timeout=ExecuteStatementRequestOnWaitTimeout.CANCEL
    )
    assert timed_out.status.state.value == "CANCELED"
    after = spark_sdk.statement_execution.execute_statement("SELECT 7", spark_warehouse, wait_timeout="30s")
    assert after.result.data_array == [["7"]]  # the warehouse is free again


def test_error_shapes(spark_ws: LocalWorkspace, spark_sdk: WorkspaceClient, spark_warehouse: str) -> None:
    syntax = spark_sdk.statement_execution.execute_statement("SELEC 1", spark_warehouse, wait_timeout="30s")
    assert (syntax.status.state.value, syntax.status.error.error_code.value, syntax.status.sql_state) == (
        "FAILED",
        "BAD_REQUEST",
        "42601",
    )
    assert "PARSE_SYNTAX_ERROR" in syntax.status.error.message and "JVM stacktrace" not in syntax.status.error.message
    missing = spark_sdk.statement_execution.execute_statement(
        f"SELECT * FROM missing_{uuid.uuid4().hex[:6]}", spark_warehouse, wait_timeout="30s"
    )
    assert (missing.status.sql_state, missing.status.error.error_code.value) == ("42P01", "BAD_REQUEST")
    assert "TABLE_OR_VIEW_NOT_FOUND" in missing.status.error.message
    bad_value = spark_sdk.statement_execution.execute_statement(
        "SELECT :n",
        spark_warehouse,
        wait_timeout="30s",
        parameters=[StatementParameterListItem(name="n", value="many", type="INT")],
    )
    assert bad_value.status.state.value == "FAILED" and "parameter 'n'" in bad_value.status.error.message
    with pytest.raises(InvalidParameterValue, match="wait_timeout field must be 0 seconds"):
        spark_sdk.statement_execution.execute_statement("SELECT 1", spark_warehouse, wait_timeout="60s")
    with pytest.raises(NotFound):
        spark_sdk.statement_execution.execute_statement("SELECT 1", "0123456789abcdef")
    with pytest.raises(NotFound):
        spark_sdk.statement_execution.get_statement(str(uuid.uuid4()))
    with pytest.raises(DatabricksError, match="SQL connector's Thrift endpoint.*Statement Execution API"):
        spark_sdk.api_client.do("POST", f"/sql/1.0/warehouses/{spark_warehouse}", body={})  # JSON, not Thrift


def test_notebook_table_is_read_by_a_statement_and_the_reverse(
    spark_sdk: WorkspaceClient, spark_cluster: str, spark_warehouse: str, notebook
) -> None:
    name = f"sql_share_{uuid.uuid4().hex[:8]}"
    writer = notebook(
        f"spark.range(5).selectExpr('id', 'id * 10 AS amount').write.saveAsTable('{name}_nb')\n"
        "dbutils.notebook.exit('written')"
    )
    run = run_task(spark_sdk, existing_cluster_id=spark_cluster, notebook_task=jobs.NotebookTask(notebook_path=writer))
    assert notebook_result(spark_sdk, run) == "written"
    read = spark_sdk.statement_execution.execute_statement(
        f"SELECT sum(amount) AS total FROM {name}_nb",
        spark_warehouse,
        wait_timeout="30s",
        catalog="hive_metastore",
        schema="default",
    )
    assert read.result.data_array == [["100"]], read.status
    created = spark_sdk.statement_execution.execute_statement(
        f"CREATE TABLE {name}_sql USING parquet AS SELECT 'from sql' AS origin", spark_warehouse, wait_timeout="50s"
    )
    assert created.status.state.value == "SUCCEEDED", created.status
    reader = notebook(f"dbutils.notebook.exit(spark.table('{name}_sql').first().origin)")
    run = run_task(spark_sdk, existing_cluster_id=spark_cluster, notebook_task=jobs.NotebookTask(notebook_path=reader))
    assert notebook_result(spark_sdk, run) == "from sql"


def test_warehouses_list_and_the_legacy_endpoints_path(spark_sdk: WorkspaceClient, spark_warehouse: str) -> None:
    listed = {w.id: w for w in spark_sdk.warehouses.list()}
    assert listed[spark_warehouse].state.value == "RUNNING"
    assert listed[spark_warehouse].odbc_params.path == f"/sql/1.0/warehouses/{spark_warehouse}"
    legacy = spark_sdk.api_client.do("GET", "/api/2.0/sql/endpoints")
    assert spark_warehouse in [e["id"] for e in legacy["endpoints"]]
    assert (
        json.loads(json.dumps(spark_sdk.api_client.do("GET", f"/api/2.0/sql/endpoints/{spark_warehouse}")))["state"]
        == "RUNNING"
    )
