"""Unity Catalog tables (``/api/2.1/unity-catalog/tables``): the tables of the shared Hive metastore.

Spark here has no Unity Catalog, so the three-level name ``<catalog>.<schema>.<table>`` is the metastore's
``<database>.<table>``, the database named by :func:`.names.metastore_database` (``main.sales.t`` is
``sales.t``, the same table ``spark.table("sales.t")`` and ``saveAsTable`` see from every cluster;
``main.my-schema.t`` is ``uc__6d792d736368656d61.t``). Without Spark (no metastore) every schema lists no tables.
Columns come from the schema Spark keeps in the table's properties (``spark.sql.sources.schema``), else from
the metastore's columns.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from airbricks.workspace.catalog.names import metastore_database, uc_schema
from airbricks.workspace.catalog.unity_catalog import CATALOG, SCHEMA, UnityCatalog, split_name
from airbricks.workspace.errors import (
    DatabricksError,
    InvalidParameterValue,
    SchemaDoesNotExist,
    TableDoesNotExist,
    TemporarilyUnavailable,
)

#: Spark's type names (JSON schema) as Unity Catalog's ``type_name`` and ``type_text``.
_TYPES = {
    "long": ("LONG", "bigint"),
    "integer": ("INT", "int"),
    "short": ("SHORT", "smallint"),
    "byte": ("BYTE", "tinyint"),
    "string": ("STRING", "string"),
    "double": ("DOUBLE", "double"),
    "float": ("FLOAT", "float"),
    "boolean": ("BOOLEAN", "boolean"),
    "date": ("DATE", "date"),
    "timestamp": ("TIMESTAMP", "timestamp"),
    "timestamp_ntz": ("TIMESTAMP_NTZ", "timestamp_ntz"),
    "binary": ("BINARY", "binary"),
}
_HIVE_TYPES = {
    "bigint": "LONG",
    "int": "INT",
    "smallint": "SHORT",
    "tinyint": "BYTE",
    "string": "STRING",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "binary": "BINARY",
}
_TABLE_TYPES = {
    "MANAGED_TABLE": "MANAGED",
    "EXTERNAL_TABLE": "EXTERNAL",
    "VIRTUAL_VIEW": "VIEW",
    "MATERIALIZED_VIEW": "MATERIALIZED_VIEW",
}


class Tables:
    """Tables of one catalog's schemas, read from the metastore on every call (Spark may change them anytime).

    :param metastore_port: ``(start)`` -> the metastore service's port, started first if ``start`` (None: no
        Spark engine, or not running).
    """

    def __init__(self, catalog: UnityCatalog, metastore_port: Callable[[bool], int | None]) -> None:
        self.catalog = catalog
        self._port = metastore_port

    def _client(self, start: bool = True) -> Any | None:
        port = self._port(start)
        if port is None:
            return None
        from airbricks.workspace.catalog.metastore_client import Metastore

        return Metastore(port)

    def _call(self, action: Callable[[Any], Any], start: bool = True) -> Any:
        """Run ``action(client)``; the metastore may still be starting (first use after a server start)."""
        client = self._client(start)
        if client is None:
            return None
        deadline = time.monotonic() + 90
        while True:
            try:
                return action(client)
            except (ConnectionError, OSError) as err:
                if time.monotonic() > deadline:
                    raise TemporarilyUnavailable(f"The metastore does not answer: {err}") from None
                time.sleep(0.5)
                client = self._client() or client

    def _schema(self, catalog_name: str, schema_name: str) -> dict[str, Any]:
        """The schema, adopting the metastore's databases first when the catalog does not know it yet."""
        try:
            return self.catalog.get_schema(f"{catalog_name}.{schema_name}")
        except SchemaDoesNotExist:
            self.adopt_databases()
            return self.catalog.get_schema(f"{catalog_name}.{schema_name}")

    def list(self, catalog_name: str, schema_name: str) -> list[dict[str, Any]]:
        schema = self._schema(catalog_name, schema_name)
        catalog, name = schema["catalog_name"], schema["name"]
        database = metastore_database(catalog, name)
        found = self._call(lambda ms: [(table, ms.table(database, table)) for table in ms.tables(database)])
        return [self._info(catalog, name, raw) for _, raw in sorted(found or [])]

    def get(self, full_name: str) -> dict[str, Any]:
        catalog, schema, name = split_name(full_name, 3, "table")
        self._schema(catalog, schema)
        raw = self._call(lambda ms: _get_or_none(ms, metastore_database(catalog, schema), name))
        if raw is None:
            raise TableDoesNotExist(f"Table '{catalog}.{schema}.{name}' does not exist.")
        return self._info(catalog, schema, raw)

    def exists(self, full_name: str) -> bool:
        try:
            self.get(full_name)
        except TableDoesNotExist:
            return False
        return True

    def delete(self, full_name: str) -> None:
        info = self.get(full_name)
        database = metastore_database(info["catalog_name"], info["schema_name"])
        self._call(lambda ms: ms.drop_table(database, info["name"]))

    def adopt_databases(self) -> None:
        """Databases Spark created (``CREATE SCHEMA`` in a notebook) become the Unity Catalog schemas they
        encode (:func:`.names.uc_schema`; a plain name is a schema of ``main``) when the metastore runs and the
        catalog exists, so ``schemas/list`` and ``tables/list`` see them."""
        store = self.catalog.shared.store
        for database in self._call(lambda ms: ms.databases(), start=False) or []:
            catalog, schema = uc_schema(database)
            if store.get(CATALOG, catalog) is not None and store.get(SCHEMA, f"{catalog}.{schema}") is None:
                try:
                    self.catalog.create_schema(catalog, schema)
                except DatabricksError:
                    continue  # a name Unity Catalog refuses, or created meanwhile

    def schema_created(self, schema: dict[str, Any]) -> None:
        """The metastore database behind a new schema (when the metastore runs), so Spark can use it: named by
        :func:`.names.metastore_database`, which any Unity Catalog name maps onto a name Hive takes."""
        name = metastore_database(schema["catalog_name"], schema["name"])
        from airbricks.workspace.catalog.metastore_client import MetastoreError

        def create(ms: Any) -> None:
            try:
                ms.create_database(name, schema.get("comment") or "")
            except MetastoreError as err:
                if err.kind != "already_exists":
                    raise InvalidParameterValue(
                        f"The metastore refused database {name} (schema {schema['full_name']}): {err}"
                    ) from None

        self._call(create, start=False)

    def _info(self, catalog: str, schema: str, raw: dict[int, Any]) -> dict[str, Any]:
        params: dict[str, str] = raw.get(9) or {}
        sd = raw.get(7) or {}
        name = raw.get(1, "")
        info: dict[str, Any] = {
            "name": name,
            "catalog_name": catalog,
            "schema_name": schema,
            "full_name": f"{catalog}.{schema}.{name}",
            "table_type": _TABLE_TYPES.get(raw.get(12, ""), "MANAGED"),
            "columns": _columns(params, sd.get(1) or [], raw.get(8) or []),
            "owner": raw.get(3) or "",
            "created_at": int(raw.get(4) or 0) * 1000,
            "properties": {k: v for k, v in params.items() if not k.startswith("spark.sql.")},
            "metastore_id": self.catalog.metastore_id,
            "securable_type": "TABLE",
        }
        provider = params.get("spark.sql.sources.provider")
        if provider:
            info["data_source_format"] = provider.upper()
        if sd.get(2):
            info["storage_location"] = sd[2]
        if raw.get(11):
            info["view_definition"] = raw[11]
        return info


def _get_or_none(ms: Any, schema: str, name: str) -> dict[int, Any] | None:
    from airbricks.workspace.catalog.metastore_client import MetastoreError

    try:
        return ms.table(schema, name)
    except MetastoreError as err:
        if err.kind in ("no_such_object", "meta"):
            return None
        raise


def _columns(
    params: dict[str, str], cols: list[dict[int, Any]], partitions: list[dict[int, Any]]
) -> list[dict[str, Any]]:
    """Columns from Spark's schema in the properties (one string, or ``numParts`` parts), else Hive's."""
    text = params.get("spark.sql.sources.schema")
    if text is None and params.get("spark.sql.sources.schema.numParts"):
        parts = int(params["spark.sql.sources.schema.numParts"])
        text = "".join(params.get(f"spark.sql.sources.schema.part.{i}", "") for i in range(parts))
    if text:
        fields = json.loads(text).get("fields", [])
        out = []
        for position, field in enumerate(fields):
            kind = field["type"] if isinstance(field["type"], str) else field["type"].get("type", "struct")
            type_name, type_text = _TYPES.get(kind, (kind.split("(")[0].upper(), kind))
            out.append(
                {
                    "name": field["name"],
                    "type_name": type_name,
                    "type_text": type_text,
                    "type_json": json.dumps(field),
                    "nullable": field.get("nullable", True),
                    "position": position,
                }
            )
        return out
    hive = [*cols, *partitions]
    return [
        {
            "name": col.get(1, ""),
            "type_text": col.get(2, ""),
            "nullable": True,
            "position": position,
            "type_name": _HIVE_TYPES.get(col.get(2, ""), str(col.get(2, "")).split("<")[0].upper()),
            **({"comment": col[3]} if col.get(3) else {}),
        }
        for position, col in enumerate(hive)
    ]
