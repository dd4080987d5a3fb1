"""Unity Catalog tables and the Command Execution API on the shared Spark cluster: a context is a persistent
interpreter whose ``spark`` is connected to the cluster, and the tables API lists what Spark wrote into the
metastore (``main.<schema>.<table>`` is the metastore's ``<schema>.<table>``)."""

from __future__ import annotations

import time
import uuid

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.catalog import ColumnTypeName, DataSourceFormat, TableType
from databricks.sdk.service.compute import CommandStatus, Language, ResultType

from airbricks.workspace.server.serve import LocalWorkspace
from workspace.compute.test_api_commands import run, wait_command, wait_context


def test_context_keeps_state_uses_spark_and_the_tables_api_sees_its_table(
    spark_sdk: WorkspaceClient, spark_cluster: str, spark_ws: LocalWorkspace
) -> None:
    schema = f"uc_{uuid.uuid4().hex[:8]}"
    spark_sdk.schemas.create(name=schema, catalog_name="main")  # also the metastore's database
    ctx = wait_context(spark_sdk, spark_cluster)
    try:
        first = run(
            spark_sdk,
            spark_cluster,
            ctx,
            f"spark.range(5).withColumnRenamed('id', 'n').write.saveAsTable('{schema}.numbers')\n"
            f"rows = spark.table('{schema}.numbers').count()\nprint('wrote', rows)",
        )
        assert (first.status, first.results.data) == (CommandStatus.FINISHED, "wrote 5"), first.results
        assert run(spark_sdk, spark_cluster, ctx, "rows * 10").results.data == "50"  # state kept in the context
        table = run(
            spark_sdk,
            spark_cluster,
            ctx,
            f"SELECT n, n * 2 AS twice FROM {schema}.numbers WHERE n < 2 ORDER BY n",
            language=Language.SQL,
        )
        assert table.results.result_type == ResultType.TABLE
        assert table.results.data == [[0, 0], [1, 2]]
        assert [c["name"] for c in table.results.schema] == ["n", "twice"]

        (listed,) = spark_sdk.tables.list(catalog_name="main", schema_name=schema)
        assert (listed.full_name, listed.table_type, listed.data_source_format) == (
            f"main.{schema}.numbers",
            TableType.MANAGED,
            DataSourceFormat.PARQUET,
        )
        assert [(c.name, c.type_name) for c in listed.columns] == [("n", ColumnTypeName.LONG)]
        assert spark_sdk.tables.get(f"main.{schema}.numbers").storage_location.endswith(f"{schema}.db/numbers")
        assert spark_sdk.tables.exists(f"main.{schema}.numbers").table_exists is True
        spark_sdk.tables.delete(f"main.{schema}.numbers")
        assert spark_sdk.tables.exists(f"main.{schema}.numbers").table_exists is False
        gone = run(spark_sdk, spark_cluster, ctx, f"spark.catalog.tableExists('{schema}.numbers')")
        assert gone.results.data == "False"  # Spark sees the same metastore
        made = run(spark_sdk, spark_cluster, ctx, f"CREATE SCHEMA {schema}_sql", language=Language.SQL)
        assert made.results.result_type == ResultType.TABLE, made.results
        assert f"{schema}_sql" in {s.name for s in spark_sdk.schemas.list(catalog_name="main")}  # Spark's schemas too

        slow = spark_sdk.command_execution.execute(
            cluster_id=spark_cluster,
            context_id=ctx,
            command="spark.range(10**11).selectExpr('sum(id)').collect()",
            language=Language.PYTHON,
        ).response.id
        wait_command(spark_sdk, spark_cluster, ctx, slow, until=(CommandStatus.RUNNING,))
        time.sleep(0.5)
        spark_sdk.command_execution.cancel(cluster_id=spark_cluster, context_id=ctx, command_id=slow)
        assert wait_command(spark_sdk, spark_cluster, ctx, slow, timeout=30).status == CommandStatus.CANCELLED
        after = run(spark_sdk, spark_cluster, ctx, "SELECT 1 AS one", language=Language.SQL)
        assert after.results.data == [[1]], after.results.summary  # the context and its spark survive the cancel
    finally:
        spark_sdk.command_execution.destroy(cluster_id=spark_cluster, context_id=ctx)
        for name in (schema, f"{schema}_sql"):
            if name in {s.name for s in spark_sdk.schemas.list(catalog_name="main")}:
                spark_sdk.schemas.delete(f"main.{name}", force=True)
    assert spark_ws.workspace.contexts.processes() == []
