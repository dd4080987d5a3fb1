"""A statement's result as the Statement Execution API serves it: schema, chunks, JSON_ARRAY / ARROW_STREAM / CSV.

Built once, when the statement succeeds, from the Arrow table Spark Connect returned and the Spark schema:
rows are cut into chunks of about :data:`CHUNK_BYTES` (the real service splits by size too), ``row_limit``
and ``byte_limit`` truncate (``manifest.truncated``), and each chunk renders in the requested format. JSON_ARRAY
values are strings (or null) as the real service writes them; ARROW_STREAM chunks are Arrow IPC streams.
"""

from __future__ import annotations

import base64
import csv
import datetime
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

#: Rows per chunk are chosen so a chunk's JSON is about this large.
CHUNK_BYTES = 4 * 1024 * 1024
#: INLINE results above this fail, as on the real service (25 MiB).
INLINE_LIMIT_BYTES = 25 * 1024 * 1024

_TYPE_NAMES = {
    "IntegerType": "INT",
    "LongType": "LONG",
    "ShortType": "SHORT",
    "ByteType": "BYTE",
    "FloatType": "FLOAT",
    "DoubleType": "DOUBLE",
    "DecimalType": "DECIMAL",
    "StringType": "STRING",
    "VarcharType": "STRING",
    "CharType": "CHAR",
    "BooleanType": "BOOLEAN",
    "DateType": "DATE",
    "TimestampType": "TIMESTAMP",
    "TimestampNTZType": "TIMESTAMP",
    "BinaryType": "BINARY",
    "ArrayType": "ARRAY",
    "MapType": "MAP",
    "StructType": "STRUCT",
    "NullType": "NULL",
    "DayTimeIntervalType": "INTERVAL",
    "YearMonthIntervalType": "INTERVAL",
}


def type_text(data_type: Any) -> str:
    """Databricks' spelling of a Spark type: ``INT``, ``DECIMAL(10,2)``, ``ARRAY<STRING>``, ``STRUCT<a: INT>``."""
    kind = type(data_type).__name__
    if kind == "ArrayType":
        return f"ARRAY<{type_text(data_type.elementType)}>"
    if kind == "MapType":
        return f"MAP<{type_text(data_type.keyType)}, {type_text(data_type.valueType)}>"
    if kind == "StructType":
        return "STRUCT<" + ", ".join(f"{f.name}: {type_text(f.dataType)}" for f in data_type.fields) + ">"
    return data_type.simpleString().upper()


def columns(schema: Any) -> list[dict[str, Any]]:
    """``manifest.schema.columns`` from a Spark StructType."""
    out = []
    for position, spark_field in enumerate(schema.fields):
        kind = type(spark_field.dataType).__name__
        column = {
            "name": spark_field.name,
            "type_text": type_text(spark_field.dataType),
            "type_name": _TYPE_NAMES.get(kind, "USER_DEFINED_TYPE"),
            "position": position,
        }
        if kind == "DecimalType":
            column.update(type_precision=spark_field.dataType.precision, type_scale=spark_field.dataType.scale)
        if "Interval" in kind:
            column["type_interval_type"] = spark_field.dataType.simpleString().upper().replace("INTERVAL ", "")
        out.append(column)
    return out


def _text(value: Any) -> str | None:
    """One JSON_ARRAY cell: a string, or None for NULL."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal, str)):
        return str(value)
    if isinstance(value, float):
        return (
            repr(value)
            if value == value and value not in (float("inf"), float("-inf"))
            else ("NaN" if value != value else ("Infinity" if value > 0 else "-Infinity"))
        )
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.timedelta):
        return str(value)
    return json.dumps(_plain(value), separators=(",", ":"))


def _plain(value: Any) -> Any:
    """Nested values (arrays, maps as key/value pairs, structs) as JSON-ready Python values."""
    if isinstance(value, list):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
            return {str(k): _plain(v) for k, v in value}  # an Arrow map
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return _text(value)


@dataclass
class Chunk:
    index: int
    row_offset: int
    row_count: int
    byte_count: int


@dataclass
class ResultSet:
    """The rows of a finished statement, split into chunks, and the manifest that describes them."""

    format: str
    columns: list[dict[str, Any]]
    #: The JSON_ARRAY cells; None until a JSON or CSV rendering needs them (an Arrow result is served as Arrow).
    rows: list[list[str | None]] | None
    arrow: Any  # the pyarrow Table (sliced per chunk for ARROW_STREAM)
    truncated: bool
    chunks: list[Chunk] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(c.byte_count for c in self.chunks)

    def manifest(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "schema": {"column_count": len(self.columns), "columns": self.columns},
            "total_chunk_count": len(self.chunks),
            "total_row_count": self.arrow.num_rows,
            "total_byte_count": self.total_bytes,
            "truncated": self.truncated,
            "chunks": [
                {
                    "chunk_index": c.index,
                    "row_offset": c.row_offset,
                    "row_count": c.row_count,
                    "byte_count": c.byte_count,
                }
                for c in self.chunks
            ],
        }

    def text_rows(self) -> list[list[str | None]]:
        """Every row as JSON_ARRAY cells (made on first use)."""
        if self.rows is None:
            self.rows = _text_rows(self.arrow)
        return self.rows

    def chunk(self, index: int) -> Chunk:
        return self.chunks[index]

    def inline(self, index: int, statement_id: str) -> dict[str, Any]:
        """Chunk ``index`` as INLINE ``result`` data (``data_array``, or ``attachment`` for ARROW_STREAM)."""
        chunk = self.chunks[index]
        body = self._position(chunk, statement_id)
        if self.format == "ARROW_STREAM":
            body["attachment"] = base64.b64encode(self.payload(index)).decode()
        elif chunk.row_count:
            body["data_array"] = self.text_rows()[chunk.row_offset : chunk.row_offset + chunk.row_count]
        return body

    def link(self, index: int, statement_id: str, url: str, expiration: str) -> dict[str, Any]:
        """Chunk ``index`` as an EXTERNAL_LINKS entry pointing at ``url`` (served by the workspace itself)."""
        chunk = self.chunks[index]
        return {
            **self._position(chunk, statement_id),
            "byte_count": len(self.payload(index)),
            "external_link": url,
            "expiration": expiration,
            "http_headers": {},
        }

    def _position(self, chunk: Chunk, statement_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "chunk_index": chunk.index,
            "row_offset": chunk.row_offset,
            "row_count": chunk.row_count,
        }
        if chunk.index + 1 < len(self.chunks):
            body["next_chunk_index"] = chunk.index + 1
            body["next_chunk_internal_link"] = f"/api/2.0/sql/statements/{statement_id}/result/chunks/{chunk.index + 1}"
        return body

    def payload(self, index: int) -> bytes:
        """The bytes an external link serves: JSON text, an Arrow IPC stream, or CSV."""
        chunk = self.chunks[index]
        if self.format == "ARROW_STREAM":
            import pyarrow as pa

            sink = io.BytesIO()
            part = self.arrow.slice(chunk.row_offset, chunk.row_count)
            with pa.ipc.new_stream(sink, part.schema) as writer:
                writer.write_table(part)
            return sink.getvalue()
        rows = self.text_rows()[chunk.row_offset : chunk.row_offset + chunk.row_count]
        if self.format == "CSV":
            text = io.StringIO()
            csv.writer(text, lineterminator="\n").writerows(["" if v is None else v for v in row] for row in rows)
            return text.getvalue().encode()
        return json.dumps(rows, separators=(",", ":")).encode()


def build(
    table: Any,
    schema: Any,
    *,
    result_format: str,
    row_limit: int | None,
    byte_limit: int | None,
    chunk_bytes: int = CHUNK_BYTES,
) -> ResultSet:
    """The result set of an Arrow table (at most ``row_limit + 1`` rows were fetched to see truncation)."""
    truncated = False
    if row_limit is not None and table.num_rows > row_limit:
        table, truncated = table.slice(0, row_limit), True
    rows: list[list[str | None]] | None = None
    if result_format == "ARROW_STREAM":  # sized by its Arrow bytes: no text cells are made for it
        sizes = [table.nbytes // table.num_rows + 1] * table.num_rows if table.num_rows else []
    else:
        rows = _text_rows(table)
        sizes = [len(json.dumps(row, separators=(",", ":"))) + 1 for row in rows]
    if byte_limit is not None:
        total = 0
        for count, size in enumerate(sizes):
            total += size
            if total > byte_limit:
                sizes, truncated = sizes[:count], True
                rows = rows[:count] if rows is not None else None
                table = table.slice(0, count)
                break
    result = ResultSet(format=result_format, columns=columns(schema), rows=rows, arrow=table, truncated=truncated)
    offset = size_so_far = start = 0
    for offset, size in enumerate(sizes):
        if size_so_far and size_so_far + size > chunk_bytes:
            result.chunks.append(Chunk(len(result.chunks), start, offset - start, size_so_far))
            start, size_so_far = offset, 0
        size_so_far += size
    result.chunks.append(Chunk(len(result.chunks), start, len(sizes) - start, size_so_far))
    return result


def _text_rows(table: Any) -> list[list[str | None]]:
    cells = [[_text(v) for v in column.to_pylist()] for column in table.columns]
    return [list(row) for row in zip(*cells, strict=False)] if cells else [[] for _ in range(table.num_rows)]
