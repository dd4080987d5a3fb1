"""``DESCRIBE DETAIL <table>`` for the local workspace's tables, which are parquet (Delta's jars are not here).

``DESCRIBE DETAIL`` is Delta Lake's command; Spark without Delta reads it as ``DESCRIBE`` of a table named
``DETAIL``. Clients rely on it all the same: the provider's ``DatabricksPartitionSensor`` reads the table's
partition columns from its eighth column. So, unless the drivers load Delta (``--spark-packages io.delta:...``,
whose own command then answers), the statement is answered here from Spark's catalog, with Databricks' columns:
``format`` (the table's provider), ``partitionColumns``, ``location``, ``createdAt``, ``numFiles`` /
``sizeInBytes`` (null: not tracked for non-Delta tables), and the rest as the real one shapes them.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

_DESCRIBE_DETAIL = re.compile(r"^\s*(?:DESC|DESCRIBE)\s+DETAIL\s+(?P<table>[^\s;]+)\s*;?\s*$", re.IGNORECASE)


def detail_target(text: str, spark_packages: list[str]) -> str | None:
    """The table a ``DESCRIBE DETAIL`` statement names, when this module must answer it (no Delta loaded)."""
    if any("delta" in package.lower() for package in spark_packages):
        return None
    match = _DESCRIBE_DETAIL.match(text)
    return match.group("table").replace("`", "") if match else None


def describe_detail(session: Any, table: str) -> tuple[Any, Any]:
    """The Arrow table and Spark schema of ``DESCRIBE DETAIL table`` (two catalog round trips)."""
    import pyarrow as pa
    from pyspark.sql import types as T

    name = ".".join(f"`{part.strip('`')}`" for part in table.split("."))
    rows = [(row[0] or "", row[1]) for row in session.sql(f"DESCRIBE TABLE EXTENDED {name}").collect()]
    info = {key: value for key, value in rows if key and not key.startswith("#")}
    partitions: list[str] = []
    section = ""
    for key, _ in rows:  # "# Partition Information", "# col_name", the partition columns, then "" or "# ..."
        if key.startswith("#") or not key:
            section = key if key != "# col_name" else section
        elif section == "# Partition Information":
            partitions.append(key)
    created = _created(info.get("Created Time"))
    fields = [
        ("format", T.StringType(), (info.get("Provider") or "").lower() or None),
        ("id", T.StringType(), None),
        (
            "name",
            T.StringType(),
            ".".join(p for p in (info.get("Catalog"), info.get("Database"), info.get("Table")) if p),
        ),
        ("description", T.StringType(), info.get("Comment")),
        ("location", T.StringType(), info.get("Location")),
        ("createdAt", T.TimestampType(), created),
        ("lastModified", T.TimestampType(), created),
        ("partitionColumns", T.ArrayType(T.StringType()), partitions),
        ("clusteringColumns", T.ArrayType(T.StringType()), []),
        ("numFiles", T.LongType(), None),
        ("sizeInBytes", T.LongType(), None),
        ("properties", T.MapType(T.StringType(), T.StringType()), []),
        ("minReaderVersion", T.IntegerType(), None),
        ("minWriterVersion", T.IntegerType(), None),
        ("tableFeatures", T.ArrayType(T.StringType()), []),
    ]
    arrow_types = {
        "format": pa.string(),
        "createdAt": pa.timestamp("us", "UTC"),
        "lastModified": pa.timestamp("us", "UTC"),
        "partitionColumns": pa.list_(pa.string()),
        "clusteringColumns": pa.list_(pa.string()),
        "numFiles": pa.int64(),
        "sizeInBytes": pa.int64(),
        "properties": pa.map_(pa.string(), pa.string()),
        "minReaderVersion": pa.int32(),
        "minWriterVersion": pa.int32(),
        "tableFeatures": pa.list_(pa.string()),
    }
    arrow = pa.table({n: pa.array([v], type=arrow_types.get(n, pa.string())) for n, _, v in fields})
    return arrow, T.StructType([T.StructField(n, t) for n, t, _ in fields])


def _created(text: str | None) -> datetime.datetime | None:
    """Spark's ``Created Time`` (``Wed Dec 02 06:58:01 UTC 2026``) as a UTC timestamp."""
    if not text:
        return None
    try:
        parsed = datetime.datetime.strptime(re.sub(r"\s[A-Z]{2,5}\s", " ", text), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    return parsed.replace(tzinfo=datetime.timezone.utc)
