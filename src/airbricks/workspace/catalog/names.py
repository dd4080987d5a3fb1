"""Unity Catalog names onto the shared Hive metastore's databases, and back.

Unity Catalog accepts names Hive refuses (``my-schema``, ``Sales 2024`` is refused by both, ``1st`` is fine
for both), and Spark here has one metastore for every catalog. So a schema's metastore database is its name
when Hive takes it as is (``^[a-z0-9_]+$``, not starting ``uc__``, in ``main`` or ``hive_metastore``), else a
reversible encoding: ``uc__`` + hex of the UTF-8 bytes of ``<schema>`` (``main``/``hive_metastore``) or of
``<catalog>.<schema>`` (any other catalog; UC names never hold a dot, so the dot tells the two apart). The
Spark catalog plugin (Java) implements the same contract, so ``spark.sql("select * from `my-schema`.t")`` and
``w.tables.get("main.my-schema.t")`` reach the same table.
"""

from __future__ import annotations

import re

#: Catalogs whose schemas share the metastore's plain database namespace.
DIRECT_CATALOGS = ("main", "hive_metastore")
PREFIX = "uc__"
_PLAIN = re.compile(r"^[a-z0-9_]+$")
_ENCODED = re.compile(r"^uc__((?:[0-9a-f]{2})+)$")


def metastore_database(catalog: str, schema: str) -> str:
    """The metastore database that holds the tables of ``catalog.schema`` (names compared lower-case)."""
    catalog, schema = catalog.lower(), schema.lower()
    if catalog in DIRECT_CATALOGS:
        if _PLAIN.match(schema) and not schema.startswith(PREFIX):
            return schema
        return PREFIX + schema.encode("utf-8").hex()
    return PREFIX + f"{catalog}.{schema}".encode().hex()


def uc_schema(database: str) -> tuple[str, str]:
    """``(catalog, schema)`` for a metastore database; a name that is no valid encoding is a schema of ``main``."""
    name = database.lower()
    found = _ENCODED.match(name)
    if found is None:
        return DIRECT_CATALOGS[0], name
    try:
        text = bytes.fromhex(found.group(1)).decode("utf-8")
    except UnicodeDecodeError:
        return DIRECT_CATALOGS[0], name
    if "." in text:
        catalog, _, schema = text.partition(".")
        return catalog, schema
    return DIRECT_CATALOGS[0], text
