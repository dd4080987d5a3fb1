"""Unity Catalog's naming rules and the names <-> metastore databases contract, no HTTP, no Spark."""

from __future__ import annotations

import pytest

from airbricks.workspace.catalog.names import metastore_database, uc_schema
from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue


@pytest.mark.parametrize(
    ("catalog", "schema", "database"),
    [
        ("main", "sales", "sales"),
        ("MAIN", "Sales_2024", "sales_2024"),
        ("hive_metastore", "1st", "1st"),
        ("main", "my-schema", "uc__6d792d736368656d61"),
        ("main", "uc__x", "uc__" + b"uc__x".hex()),  # a plain name that looks encoded is encoded itself
        ("main", "café", "uc__" + "café".encode().hex()),
        ("sales", "raw", "uc__" + b"sales.raw".hex()),
        ("Dev-Cat", "My-Schema", "uc__" + b"dev-cat.my-schema".hex()),
    ],
)
def test_each_schema_has_one_database_and_it_decodes_back(catalog: str, schema: str, database: str) -> None:
    assert metastore_database(catalog, schema) == database
    back = uc_schema(database)
    assert back == (
        ("main", schema.lower()) if catalog.lower() in ("main", "hive_metastore") else (catalog.lower(), schema.lower())
    )


def test_databases_that_are_no_encoding_are_schemas_of_main() -> None:
    assert uc_schema("Default") == ("main", "default")
    assert uc_schema("uc__zz") == ("main", "uc__zz")  # not hex
    assert uc_schema("uc__abc") == ("main", "uc__abc")  # odd length
    assert uc_schema("uc__ff") == ("main", "uc__ff")  # not UTF-8


def test_unity_catalog_takes_what_it_takes_and_refuses_with_its_message(ws: Workspace) -> None:
    uc = ws.catalog
    for name in ("dbfs-qy8x6q0a6m2lxay4", "1st", "Sales-EU", "x" * 255, "ünï-cödé"):
        assert uc.create_schema("main", name)["full_name"] == f"main.{name.lower()}"
    assert uc.create_catalog("Dev-2")["name"] == "dev-2"
    assert uc.create_volume("dev-2", "default", "raw-files", "MANAGED")["full_name"] == "dev-2.default.raw-files"
    for bad in ("a b", "a.b", "a/b", "tab\there", "del\x7f", "x" * 256):
        with pytest.raises(InvalidParameterValue) as refused:
            uc.create_schema("main", bad)
        assert (
            refused.value.message.startswith(
                "Invalid input: RPC CreateSchema Field managedcatalog.SchemaInfo.name: name "
            )
            and "is not a valid name" in refused.value.message
        )
    with pytest.raises(InvalidParameterValue, match="RPC CreateVolume Field managedcatalog.VolumeInfo.name"):
        uc.create_volume("main", "default", "v 1", "MANAGED")
    with pytest.raises(InvalidParameterValue, match="RPC CreateCatalog Field managedcatalog.CatalogInfo.name"):
        uc.create_catalog("a.b")
