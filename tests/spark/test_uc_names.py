"""Unity Catalog names Hive refuses, end to end on the shared Spark cluster: a hyphenated, mixed-case schema
and volume made through the SDK, a file written there by the Files API, listed by ``dbutils.fs.ls`` and read by
``spark.read`` in a notebook (whose ``dbutils.fs.help()`` prints Databricks' help), and a table Spark writes into
the schema's metastore database listed by the tables API under the Unity Catalog name."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable

from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.catalog import VolumeType

from airbricks.workspace.catalog.names import metastore_database

from .conftest import notebook_result, run_task


def test_a_hyphenated_schema_and_volume_work_for_files_notebooks_spark_and_tables(
    spark_sdk: WorkspaceClient, spark_cluster: str, notebook: Callable[[str], str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    schema = spark_sdk.schemas.create(catalog_name="main", name=f"Landing-{tag}")
    assert schema.full_name == f"main.landing-{tag}"
    volume = spark_sdk.volumes.create(
        catalog_name="main", schema_name=f"landing-{tag}", name="raw-files", volume_type=VolumeType.MANAGED
    )
    assert volume.full_name == f"main.landing-{tag}.raw-files"
    root = f"/Volumes/main/landing-{tag}/raw-files"
    spark_sdk.files.upload(f"{root}/in/sales.csv", io.BytesIO(b"city,amount\nOslo,3\nLima,4\n"), overwrite=True)
    database = metastore_database("main", f"landing-{tag}")
    path = notebook(f"""import contextlib, io, json
help_text = io.StringIO()
with contextlib.redirect_stdout(help_text):
    dbutils.fs.help()
listed = [f.name for f in dbutils.fs.ls("{root}/in")]
frame = spark.read.option("header", True).csv("{root}/in/sales.csv")
frame.write.saveAsTable("{database}.sales")
dbutils.notebook.exit(json.dumps({{"help": help_text.getvalue(), "listed": listed, "rows": frame.count()}}))
""")
    run = run_task(spark_sdk, existing_cluster_id=spark_cluster, notebook_task=jobs.NotebookTask(notebook_path=path))
    out = json.loads(notebook_result(spark_sdk, run))
    assert out["help"].startswith("dbutils.fs provides utilities for working with FileSystems.")
    assert "ls(dir: String): Seq -> Lists the contents of a directory" in out["help"]
    assert (out["listed"], out["rows"]) == (["sales.csv"], 2)
    [table] = spark_sdk.tables.list(catalog_name="main", schema_name=f"landing-{tag}")
    assert (table.full_name, [c.name for c in table.columns]) == (f"main.landing-{tag}.sales", ["city", "amount"])
    assert spark_sdk.tables.get(f"main.landing-{tag}.sales").schema_name == f"landing-{tag}"
