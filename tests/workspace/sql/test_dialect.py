"""The SQL dialect layer's detection (no Spark): what runs for a statement, what is refused and how."""

from __future__ import annotations

import re

import pytest

from airbricks.workspace.sql.copy_into import CopyInto
from airbricks.workspace.sql.dialect import DialectError, Prepared, databricks_message, prepare


@pytest.mark.parametrize(
    ("text", "prepared"),
    [
        ("USE CATALOG hive_metastore", Prepared("SET CATALOG 'hive_metastore'")),
        ("use catalog `main`;", Prepared("SET CATALOG 'main'")),
        ("SET CATALOG main", Prepared("SET CATALOG 'main'")),
        (
            "-- rebuild\nCREATE OR REPLACE TABLE main.s.t AS SELECT 1",
            Prepared("CREATE TABLE main.s.t AS SELECT 1", before=("DROP TABLE IF EXISTS main.s.t",)),
        ),
        (
            "create or replace table `s`.`t` (a INT) USING parquet",
            Prepared("CREATE TABLE `s`.`t` (a INT) USING parquet", before=("DROP TABLE IF EXISTS `s`.`t`",)),
        ),
        ("REPLACE TABLE t (a INT)", Prepared("CREATE TABLE t (a INT)", before=("DROP TABLE t",))),
        ("SELECT 'VERSION AS OF 3' AS text", Prepared("SELECT 'VERSION AS OF 3' AS text")),
        ("CREATE OR REPLACE TEMP VIEW v AS SELECT 1", Prepared("CREATE OR REPLACE TEMP VIEW v AS SELECT 1")),
        ("ALTER TABLE t SET TBLPROPERTIES ('a' = 'b')", Prepared("ALTER TABLE t SET TBLPROPERTIES ('a' = 'b')")),
    ],
)
def test_statements_run_as_spark_takes_them(text: str, prepared: Prepared) -> None:
    assert prepare(text) == prepared


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE", "MERGE INTO"),
        ("/* fix */ UPDATE t SET a = 1", "UPDATE"),
        ("delete from t where a = 1", "DELETE FROM"),
        ("OPTIMIZE t ZORDER BY (a)", "OPTIMIZE"),
        ("VACUUM t RETAIN 168 HOURS", "VACUUM"),
        ("DESCRIBE HISTORY t", "DESCRIBE HISTORY"),
        ("RESTORE TABLE t TO VERSION AS OF 1", "RESTORE"),
        ("SELECT * FROM t VERSION AS OF 3", "Time travel"),
        ("SELECT * FROM t TIMESTAMP AS OF '2026-01-01'", "Time travel"),
        ("SELECT * FROM t@v2", "Time travel"),
    ],
)
def test_delta_only_statements_fail_naming_delta_and_the_option(text: str, named: str) -> None:
    with pytest.raises(DialectError) as refused:
        prepare(text)
    message = str(refused.value)
    assert message.startswith(f"[DELTA_NOT_AVAILABLE] {named}") and "--spark-packages io.delta:" in message
    assert prepare(text, delta=True) == Prepared(text)  # with Delta loaded, Delta answers


def test_create_or_replace_is_left_to_delta_when_it_is_loaded() -> None:
    text = "CREATE OR REPLACE TABLE t USING DELTA AS SELECT 1"
    assert prepare(text, delta=True) == Prepared(text)


def test_a_missing_catalog_gets_databricks_message() -> None:
    for spark in (
        "[CATALOG_NOT_FOUND] The catalog `nope` not found. Consider to set the SQL config spark.sql.catalog.nope",
        "[REQUIRES_SINGLE_PART_NAMESPACE] spark_catalog requires a single-part namespace, but got identifier "
        "`nope`.`s`. SQLSTATE: 42K05",
    ):
        assert databricks_message(spark) == (
            "[NO_SUCH_CATALOG_EXCEPTION] Catalog 'nope' was not found. Please verify the catalog name and then "
            "retry the query or command again. SQLSTATE: 42704"
        )
    assert databricks_message("[TABLE_OR_VIEW_NOT_FOUND] The table or view `s`.`t` cannot be found.") is None


def test_copy_into_as_the_airflow_operator_writes_it() -> None:
    text = (
        "COPY INTO main.s.sales\nFROM '/Volumes/main/s/landing/sales'\nFILEFORMAT = CSV\nPATTERN = '*.csv'\n"
        "FORMAT_OPTIONS ('header' = 'true', 'inferSchema' = 'true')\nCOPY_OPTIONS ('force' = 'false')\n"
    )
    copy = prepare(text).copy
    assert copy == CopyInto(
        table="main.s.sales",
        path="/Volumes/main/s/landing/sales",
        file_format="CSV",
        pattern="*.csv",
        format_options={"header": "true", "inferSchema": "true"},
        copy_options={"force": "false"},
    )
    assert not copy.force
    selected = prepare(
        "COPY INTO t FROM (SELECT id::int AS id, 'x' AS tag FROM 'dbfs:/in') FILEFORMAT = JSON "
        "FILES = ('a.json', 'b.json') COPY_OPTIONS ('force' = 'true')"
    ).copy
    assert selected is not None and selected.expressions == "id::int AS id, 'x' AS tag"
    assert (selected.path, selected.files, selected.force) == ("dbfs:/in", ("a.json", "b.json"), True)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("COPY INTO t FROM 's3://bucket/in' FILEFORMAT = CSV", "the local workspace has no cloud storage"),
        ("COPY INTO t FROM 'abfss://c@a.dfs.core.windows.net/in' FILEFORMAT = CSV", "no cloud storage"),
        ("COPY INTO t FROM 'gs://bucket/in' FILEFORMAT = PARQUET", "no cloud storage"),
        ("COPY INTO t FROM '/in' FILEFORMAT = XML", "FILEFORMAT = XML: use one of"),
        ("COPY INTO t FROM '/in' FILEFORMAT = CSV VALIDATE ALL", "VALIDATE is not built"),
        ("COPY INTO t FROM '/in' FILEFORMAT = CSV COPY_OPTIONS ('mergeSchema' = 'true')", "ALTER TABLE"),
        ("COPY INTO t '/in'", "COPY INTO reads"),
    ],
)
def test_copy_into_refusals_say_why(text: str, says: str) -> None:
    with pytest.raises(DialectError, match=re.escape(says)):
        prepare(text)
