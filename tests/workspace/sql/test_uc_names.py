"""Unity Catalog names in a statement onto metastore databases (no Spark): the names contract, applied to SQL."""

from __future__ import annotations

import pytest

from airbricks.workspace.catalog.names import metastore_database
from airbricks.workspace.sql.dialect import DialectError, Prepared, prepare
from airbricks.workspace.sql.uc_names import rewrite, show_catalogs

RAW = metastore_database("files", "raw")  # uc__ + hex of "files.raw"
MY = metastore_database("main", "my-schema")


def catalogs() -> list[str]:
    return ["main", "Files"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT * FROM files.raw.t", f"SELECT * FROM spark_catalog.`{RAW}`.t"),
        ("CREATE SCHEMA IF NOT EXISTS files.raw", f"CREATE SCHEMA IF NOT EXISTS spark_catalog.`{RAW}`"),
        ("SHOW TABLES IN `files`.raw", f"SHOW TABLES IN spark_catalog.`{RAW}`"),
        (
            "INSERT INTO Files.Raw.t SELECT * FROM main.s.u JOIN files.raw.v",
            f"INSERT INTO spark_catalog.`{RAW}`.t SELECT * FROM main.s.u JOIN spark_catalog.`{RAW}`.v",
        ),
        ("CREATE TABLE `my-schema`.t (a INT)", f"CREATE TABLE spark_catalog.`{MY}`.t (a INT)"),
        ("INSERT INTO main.`my-schema`.t VALUES (1)", f"INSERT INTO spark_catalog.`{MY}`.t VALUES (1)"),
        ("CREATE SCHEMA `my-schema`", f"CREATE SCHEMA spark_catalog.`{MY}`"),
        # left to Spark: no such catalog, strings, comments, column references, plain names
        ("SELECT * FROM nowhere.raw.t", "SELECT * FROM nowhere.raw.t"),
        ("SELECT 'files.raw.t' -- files.raw.t\n", "SELECT 'files.raw.t' -- files.raw.t\n"),
        ("SELECT t.`my-col`.x, s.t.c FROM s.t", "SELECT t.`my-col`.x, s.t.c FROM s.t"),
        ("SELECT * FROM hive_metastore.sales.t", "SELECT * FROM hive_metastore.sales.t"),
    ],
)
def test_names_become_metastore_databases(text: str, expected: str) -> None:
    assert rewrite(text, catalogs) == expected


def test_catalogs_are_asked_for_only_when_a_name_could_be_one() -> None:
    def refuse() -> list[str]:
        raise AssertionError("asked for the catalogs")

    assert rewrite("SELECT 1 AS a, current_catalog()", refuse) == "SELECT 1 AS a, current_catalog()"
    assert rewrite("SELECT * FROM main.default.t JOIN s.u", refuse) == "SELECT * FROM main.default.t JOIN s.u"
    assert rewrite("SELECT * FROM files.raw.t", None) == "SELECT * FROM files.raw.t"  # no workspace to ask


def test_show_catalogs_lists_the_workspace_catalogs() -> None:
    assert show_catalogs("SHOW CATALOGS", catalogs) == (
        "SELECT catalog FROM VALUES ('files'), ('hive_metastore'), ('main') AS t(catalog)"
    )
    assert show_catalogs("show catalogs like 'h*|FILES'", catalogs) == (
        "SELECT catalog FROM VALUES ('files'), ('hive_metastore') AS t(catalog)"
    )
    assert "WHERE false" in str(show_catalogs("SHOW CATALOGS 'x*'", catalogs))
    assert show_catalogs("SHOW SCHEMAS", catalogs) is None


def test_prepare_rewrites_before_replace_and_copy_into() -> None:
    assert prepare("CREATE OR REPLACE TABLE files.raw.t AS SELECT 1", catalogs=catalogs) == Prepared(
        f"CREATE TABLE spark_catalog.`{RAW}`.t AS SELECT 1", before=(f"DROP TABLE IF EXISTS spark_catalog.`{RAW}`.t",)
    )
    copy = prepare("COPY INTO files.raw.t FROM '/Volumes/x' FILEFORMAT = CSV", catalogs=catalogs).copy
    assert copy is not None and copy.table == f"spark_catalog.`{RAW}`.t"
    assert prepare("SHOW CATALOGS", catalogs=catalogs).statement.startswith("SELECT catalog FROM VALUES")


def test_use_catalog_of_another_catalog_says_what_to_do_instead() -> None:
    with pytest.raises(DialectError, match=r"USE CATALOG files: .* three-part names \(files.<schema>.<table>\)"):
        prepare("USE CATALOG files", catalogs=catalogs)
    assert prepare("USE CATALOG nope", catalogs=catalogs) == Prepared("SET CATALOG 'nope'")  # Spark: no such catalog
