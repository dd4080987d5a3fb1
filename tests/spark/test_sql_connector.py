"""``databricks-sql-connector`` (the provider's DatabricksSqlHook, DatabricksSqlOperator and the SQL sensors),
unmodified, on the session's warehouse through the workspace's HTTPS listener, verifying the generated CA.

Both of the connector's protocols: the default Thrift one and the REST session one (``use_sea``). Only the
Airflow connection differs from a real workspace's. This is the last SQL test file: its module teardown stops
the shared warehouse, so the Spark tests after it have the driver capacity they had (run alone, the first
statement here starts the warehouse, as on Databricks).
"""

from __future__ import annotations

import datetime
import json
import ssl
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from databricks import sql
from databricks.sdk import WorkspaceClient

from airbricks.workspace.server.serve import LocalWorkspace

THRIFT_CONN = "databricks_sql_thrift"
SEA_CONN = "databricks_sql_sea"
WAREHOUSE_NAME = "spark-tests-sql"  # tests/spark/conftest.py's spark_warehouse


def connection(ws: LocalWorkspace, **extra: Any) -> str:
    """An Airflow connection (JSON form): REST on the plain listener, the connector on the HTTPS one."""
    return json.dumps(
        {
            "conn_type": "databricks",
            "host": ws.host,
            "port": ws.port,
            "schema": "http",
            "password": ws.token,
            "extra": {**ws.connector_extra, **extra},
        }
    )


@pytest.fixture(scope="module", autouse=True)
def _hand_back_the_warehouse(spark_sdk: WorkspaceClient, spark_warehouse: str) -> Iterator[None]:
    """Later Spark tests count drivers against the workspace's capacity."""
    yield
    spark_sdk.warehouses.stop(spark_warehouse).result(timeout=datetime.timedelta(minutes=2))


@pytest.fixture
def connect(spark_ws: LocalWorkspace, spark_warehouse: str) -> Callable[..., Any]:
    """``connect(**kwargs)``: the connector on the shared warehouse, through the HTTPS listener."""

    def open_connection(**kwargs: Any) -> Any:
        return sql.connect(
            spark_ws.host,
            f"/sql/1.0/warehouses/{spark_warehouse}",
            spark_ws.token,
            **{**spark_ws.connector_extra, **kwargs},
        )

    return open_connection


@pytest.fixture
def connector_conns(spark_ws: LocalWorkspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{THRIFT_CONN.upper()}", connection(spark_ws))
    monkeypatch.setenv(f"AIRFLOW_CONN_{SEA_CONN.upper()}", connection(spark_ws, use_sea=True))


def test_sql_operator_and_sensors_over_both_protocols(
    run_dag, connector_conns: None, spark_sdk: WorkspaceClient, spark_warehouse: str
) -> None:
    from airflow.providers.databricks.operators.databricks_sql import DatabricksSqlOperator
    from airflow.providers.databricks.sensors.databricks_partition import DatabricksPartitionSensor
    from airflow.providers.databricks.sensors.databricks_sql import DatabricksSqlSensor
    from airflow.sdk import DAG

    table = f"sales_{uuid.uuid4().hex[:8]}"
    path = f"/sql/1.0/warehouses/{spark_warehouse}"
    thrift = {"databricks_conn_id": THRIFT_CONN, "http_path": path}
    with DAG(f"sql_connector_{table}", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        ddl_dml = DatabricksSqlOperator(
            task_id="ddl_dml",
            do_xcom_push=False,
            **thrift,
            sql=[
                f"CREATE TABLE {table} (id INT, amount INT, day STRING) USING parquet PARTITIONED BY (day)",
                f"INSERT INTO {table} VALUES (1, 10, '2026-01-01'), (2, 20, '2026-01-02'), (3, 30, '2026-01-02')",
            ],
        )
        select = DatabricksSqlOperator(
            task_id="select",
            **thrift,
            sql=(f"SELECT day, sum(amount) AS total FROM {table} WHERE amount > %(least)s GROUP BY day ORDER BY day"),
            parameters={"least": 5},
        )
        by_name = DatabricksSqlOperator(  # REST protocol, warehouse found by its name through the REST API
            task_id="by_name_sea",
            databricks_conn_id=SEA_CONN,
            sql_endpoint_name=WAREHOUSE_NAME,
            return_last=False,
            split_statements=True,
            sql=f"SELECT count(*) AS n FROM {table}; SELECT max(id) AS top FROM {table}",
        )
        rows_sensor = DatabricksSqlSensor(
            task_id="rows_sensor",
            **thrift,
            poke_interval=1,
            timeout=60,
            sql=f"SELECT 1 FROM {table} WHERE day = '2026-01-02'",
        )
        partition = DatabricksPartitionSensor(
            task_id="partition",
            **thrift,
            poke_interval=1,
            timeout=60,
            catalog="spark_catalog",
            schema="default",
            table_name=table,
            partitions={"day": "2026-01-02"},
        )
        ddl_dml >> [select, by_name, rows_sensor, partition]
    result = run_dag(dag)
    assert result.task_states == {
        "ddl_dml": "success",
        "select": "success",
        "by_name_sea": "success",
        "rows_sensor": "success",
        "partition": "success",
    }, result.log("partition")
    description, rows = result.xcom("select")  # return_last: the last statement's (description, rows)
    assert [column[0] for column in description] == ["day", "total"]
    assert [list(row) for row in rows] == [["2026-01-01", 10], ["2026-01-02", 50]]
    (_, count), (_, top) = result.xcom("by_name_sea")
    assert [list(r) for r in count] == [[3]] and [list(r) for r in top] == [[3]]
    check = spark_sdk.statement_execution.execute_statement(
        f"SHOW PARTITIONS {table}", spark_warehouse, wait_timeout="30s"
    )
    assert sorted(r[0] for r in check.result.data_array) == ["day=2026-01-01", "day=2026-01-02"]


def test_partition_sensor_fails_on_a_missing_partition_and_an_unpartitioned_table(
    run_dag, connector_conns: None, connect: Callable[..., Any], spark_warehouse: str
) -> None:
    from airflow.providers.databricks.sensors.databricks_partition import DatabricksPartitionSensor
    from airflow.sdk import DAG

    table = f"flat_{uuid.uuid4().hex[:8]}"
    common = {
        "databricks_conn_id": THRIFT_CONN,
        "http_path": f"/sql/1.0/warehouses/{spark_warehouse}",
        "catalog": "spark_catalog",
        "schema": "default",
        "poke_interval": 1,
        "timeout": 3,
    }
    with connect() as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {table} USING parquet AS SELECT 1 AS id")
    with DAG(f"sql_partition_{table}", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        DatabricksPartitionSensor(task_id="no_partitions", table_name=table, partitions={"id": 1}, **common)
    result = run_dag(dag)
    assert result.task_states == {"no_partitions": "failed"}
    assert "does not have partitions" in result.log("no_partitions")


@pytest.mark.parametrize("use_sea", [False, True], ids=["thrift", "sea"])
def test_connector_sessions_keep_their_namespace_and_errors_are_clear(
    connect: Callable[..., Any], use_sea: bool
) -> None:
    schema = f"conn_{uuid.uuid4().hex[:6]}"
    with connect(use_sea=use_sea) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {schema}")
        cursor.execute(f"USE {schema}")
        cursor.execute("CREATE TABLE t USING parquet AS SELECT id, CAST(id AS DECIMAL(10,2)) AS price FROM range(3)")
        cursor.execute("SELECT current_database() AS db, sum(price) AS total, :tag AS tag FROM t", {"tag": "x"})
        (row,) = cursor.fetchall()
        assert (row.db, str(row.total), row.tag) == (schema, "3.00", "x")
        with pytest.raises(Exception, match="TABLE_OR_VIEW_NOT_FOUND"):
            cursor.execute("SELECT * FROM no_such_table_here")
    with connect(use_sea=use_sea, schema=schema) as conn:
        with conn.cursor() as cursor:  # a new session starts in the schema it asked for
            cursor.execute("SELECT count(*) AS n FROM t")
            assert cursor.fetchall()[0].n == 3
            if not use_sea:  # a Thrift call not served names the settings that work
                with pytest.raises(Exception, match="use_sea=True"):
                    cursor.tables(schema_name=schema)
                with pytest.raises(Exception, match="positional '\\?' markers are not supported"):
                    cursor.execute("SELECT count(*) FROM t WHERE id > ?", [0])


def test_the_connector_verifies_the_generated_certificate(spark_ws: LocalWorkspace, spark_warehouse: str) -> None:
    path = f"/sql/1.0/warehouses/{spark_warehouse}"
    untrusted = {k: v for k, v in spark_ws.connector_extra.items() if k != "_tls_trusted_ca_file"}
    with pytest.raises(Exception) as refused:
        sql.connect("127.0.0.1", path, spark_ws.token, _retry_stop_after_attempts_count=1, **untrusted)
    assert "CERTIFICATE_VERIFY_FAILED" in repr(refused.value) or isinstance(refused.value.__cause__, ssl.SSLError)
    context = ssl.create_default_context(cafile=str(spark_ws.ca_file))  # the same CA serves the REST clients
    import urllib.request

    request = urllib.request.Request(
        f"{spark_ws.tls_url}/api/2.0/sql/warehouses/{spark_warehouse}",
        headers={"Authorization": f"Bearer {spark_ws.token}"},
    )
    with urllib.request.urlopen(request, context=context, timeout=30) as answer:
        odbc = json.loads(answer.read())["odbc_params"]
    assert odbc == {"hostname": "127.0.0.1", "port": spark_ws.tls_port, "protocol": "https", "path": path}


def test_example_sql_pipeline_mails_what_the_warehouse_read_from_the_spark_job(
    run_dag,
    spark_ws: LocalWorkspace,
    spark_sdk: WorkspaceClient,
    spark_cluster: str,
    spark_warehouse: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from aiosmtpd.controller import Controller

    from airbricks.demo import _Inbox
    from airbricks.example_dags import example_sql_pipeline as example
    from airbricks.workspace.server.serve import free_port

    day = "2026-03-04"
    for name, content in (
        ("a.csv", "order_id,amount\n1,19.99\n2,5.01\n"),
        ("b.csv", "order_id,amount\n3,75.00\n"),
        ("_SUCCESS", ""),
    ):
        spark_sdk.dbfs.upload(f"/landing/{day}/{name}", io.BytesIO(content.encode()), overwrite=True)
    inbox = _Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    monkeypatch.setenv("AIRFLOW_CONN_DATABRICKS_DEFAULT", connection(spark_ws))
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", f"smtp://127.0.0.1:{smtp.port}?disable_tls=true&disable_ssl=true")
    try:
        result = run_dag(
            example.dag,
            conf={"cluster_id": spark_cluster, "warehouse_name": WAREHOUSE_NAME, "recipient": "team@example.com"},
            logical_date=datetime.datetime(2026, 3, 4, tzinfo=datetime.timezone.utc),
        )
    finally:
        smtp.stop()
    assert result.state == "success", result
    description, rows = result.xcom("summarize")
    assert [c[0] for c in description] == ["day", "files", "n_rows", "total_amount"]
    assert [list(r) for r in rows] == [[day, 2, 3, 100.0]]
    (mail,) = inbox.messages
    body = mail.get_body(("html",)).get_content()
    assert mail["To"] == "team@example.com" and f"day {day}" in body
    assert "<td>2026-03-04</td><td>2</td><td>3</td><td>100.0</td>" in body
