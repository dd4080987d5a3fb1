"""``COPY INTO``: Databricks' idempotent file load, on the local (parquet) tables, with the session's Spark.

``COPY INTO <table> FROM '<path>' | (SELECT <exprs> FROM '<path>') FILEFORMAT = CSV|JSON|PARQUET|AVRO|ORC|TEXT
[FILES = ('a', ...) | PATTERN = '<glob>'] [FORMAT_OPTIONS ('k' = 'v', ...)] [COPY_OPTIONS ('force' = 'true')]``
(the shape Airflow's ``DatabricksCopyIntoOperator`` writes). The path is ``dbfs:/...``, ``/Volumes/...`` or
``file:/...``, read by the driver's Spark as any path. Columns are matched to the table's by name (cast to its
types; a column the files lack is NULL). Each file is loaded once: the files loaded so far are recorded in a table
property (``copy_into.loaded_files``; Delta keeps them in its log), so a second run loads nothing unless
``'force' = 'true'``. The answer is Databricks' ``num_affected_rows``, ``num_inserted_rows``. A cloud URI
(``s3://``, ``abfss://``, ``gs://``, ...) fails: the local workspace has no cloud storage. ``VALIDATE`` and
``mergeSchema`` are not built (refused by name).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

LOADED_PROPERTY = "copy_into.loaded_files"
FORMATS = ("CSV", "JSON", "PARQUET", "AVRO", "ORC", "TEXT", "BINARYFILE")
CLOUD_SCHEMES = ("s3://", "s3a://", "s3n://", "abfss://", "abfs://", "wasbs://", "wasb://", "adl://", "gs://", "r2://")

_NAME = r"(?:`[^`]+`|[A-Za-z0-9_]+)(?:\s*\.\s*(?:`[^`]+`|[A-Za-z0-9_]+)){0,2}"
_STRING = r"'(?:[^'\\]|\\.)*'"
_WITH = r"(?:\s+WITH\s*\((?:[^()]|\([^()]*\))*\))?"
_COPY = re.compile(
    rf"^COPY\s+INTO\s+(?P<table>{_NAME}){_WITH}\s+FROM\s+"
    rf"(?:(?P<path>{_STRING}){_WITH}|\(\s*SELECT\s+(?P<exprs>.+?)\s+FROM\s+(?P<inner>{_STRING}){_WITH}\s*\))"
    r"\s+FILEFORMAT\s*=\s*(?P<format>[A-Za-z]+)(?P<rest>.*?);?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_OPTIONS = re.compile(r"(?P<kind>FORMAT_OPTIONS|COPY_OPTIONS)\s*\((?P<body>(?:[^()']|'(?:[^'\\]|\\.)*')*)\)", re.I)
_PAIR = re.compile(rf"(?P<key>{_STRING})\s*=\s*(?P<value>{_STRING}|[A-Za-z0-9_.+-]+)")
_FILES = re.compile(r"\bFILES\s*=\s*\((?P<body>(?:[^()']|'(?:[^'\\]|\\.)*')*)\)", re.I)
_PATTERN = re.compile(rf"\bPATTERN\s*=\s*(?P<glob>{_STRING})", re.I)
_VALIDATE = re.compile(r"^\s*VALIDATE\b", re.I)


class CopyIntoError(ValueError):
    """A COPY INTO the local workspace refuses (the message names why and what to do)."""


@dataclass(frozen=True)
class CopyInto:
    table: str
    path: str
    file_format: str
    expressions: str | None = None
    files: tuple[str, ...] = ()
    pattern: str | None = None
    format_options: dict[str, str] = field(default_factory=dict)
    copy_options: dict[str, str] = field(default_factory=dict)

    @property
    def force(self) -> bool:
        return self.copy_options.get("force", "false").lower() == "true"


def _unquote(text: str) -> str:
    if text.startswith("'") and text.endswith("'"):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def parse(body: str) -> CopyInto | None:
    """The COPY INTO statement ``body`` (leading comments stripped) describes; None when it is not one."""
    if not re.match(r"^COPY\s+INTO\b", body, re.I):
        return None
    found = _COPY.match(body)
    if found is None:
        raise CopyIntoError(
            "[PARSE_SYNTAX_ERROR] COPY INTO reads: COPY INTO <table> FROM '<path>' FILEFORMAT = CSV|JSON|PARQUET "
            "[FILES = (...) | PATTERN = '...'] [FORMAT_OPTIONS (...)] [COPY_OPTIONS (...)]"
        )
    path = _unquote(found.group("path") or found.group("inner"))
    if path.lower().startswith(CLOUD_SCHEMES):
        raise CopyIntoError(
            f"[NOT_SUPPORTED_WITH_LOCAL_WORKSPACE] COPY INTO from {path[:200]}: the local workspace has no cloud "
            "storage. Copy the files to a Volume (/Volumes/<catalog>/<schema>/<volume>/...) or DBFS (dbfs:/...) "
            "and load them from there."
        )
    file_format = found.group("format").upper()
    if file_format not in FORMATS:
        raise CopyIntoError(f"[COPY_INTO_FILE_FORMAT] FILEFORMAT = {file_format[:40]}: use one of {', '.join(FORMATS)}")
    rest = found.group("rest")
    if _VALIDATE.match(rest):
        raise CopyIntoError(
            "[NOT_SUPPORTED_WITH_LOCAL_WORKSPACE] COPY INTO ... VALIDATE is not built in the local workspace: "
            "run the COPY INTO without VALIDATE (into a scratch table to check the files)."
        )
    options: dict[str, dict[str, str]] = {"FORMAT_OPTIONS": {}, "COPY_OPTIONS": {}}
    for block in _OPTIONS.finditer(rest):
        for pair in _PAIR.finditer(block.group("body")):
            options[block.group("kind").upper()][_unquote(pair.group("key"))] = _unquote(pair.group("value"))
    copy_options = {k.lower(): v for k, v in options["COPY_OPTIONS"].items()}
    if copy_options.get("mergeschema", "false").lower() == "true":
        raise CopyIntoError(
            "[NOT_SUPPORTED_WITH_LOCAL_WORKSPACE] COPY_OPTIONS ('mergeSchema' = 'true') evolves a Delta table's "
            "schema, and the local tables are parquet: ALTER TABLE ... ADD COLUMNS first, then COPY INTO."
        )
    files = _FILES.search(rest)
    pattern = _PATTERN.search(rest)
    return CopyInto(
        table=found.group("table"),
        path=path,
        file_format=file_format,
        expressions=found.group("exprs"),
        files=tuple(_unquote(f) for f in re.findall(_STRING, files.group("body"))) if files else (),
        pattern=_unquote(pattern.group("glob")) if pattern else None,
        format_options=options["FORMAT_OPTIONS"],
        copy_options=copy_options,
    )


def run(session: Any, copy: CopyInto) -> Any:
    """Load the files not loaded yet (all with ``force``) into the table; the answer as a one-row DataFrame."""
    from pyspark.sql import functions as F

    base = copy.path.rstrip("/")
    sources = [f"{base}/{name}" for name in copy.files] or [f"{base}/{copy.pattern}" if copy.pattern else copy.path]
    reader = session.read.format(copy.file_format.lower() if copy.file_format != "BINARYFILE" else "binaryFile")
    frame = reader.options(**copy.format_options).load(sources if len(sources) > 1 else sources[0])
    frame = frame.select("*", F.col("_metadata.file_path").alias("__copy_file"))
    if copy.expressions:
        view = "__airbricks_copy_into_source"
        frame.createOrReplaceTempView(view)
        frame = session.sql(f"SELECT {copy.expressions}, __copy_file FROM {view}")
    present = sorted(row[0] for row in frame.select("__copy_file").distinct().collect())
    loaded = _loaded(session, copy.table)
    new = present if copy.force else [name for name in present if name not in loaded]
    inserted = 0
    if new:
        target = session.table(copy.table).schema
        columns = {name.lower(): name for name in frame.columns if name != "__copy_file"}
        chosen = frame.where(F.col("__copy_file").isin(new))
        rows = chosen.select(
            *[
                (F.col(f"`{columns[f.name.lower()]}`") if f.name.lower() in columns else F.lit(None))
                .cast(f.dataType)
                .alias(f.name)
                for f in target.fields
            ]
        )
        inserted = rows.count()
        rows.write.insertInto(copy.table)
        record = json.dumps(sorted(set(loaded) | set(new)))
        escaped = record.replace("\\", "\\\\").replace("'", "\\'")
        session.sql(f"ALTER TABLE {copy.table} SET TBLPROPERTIES ('{LOADED_PROPERTY}' = '{escaped}')")
    return session.createDataFrame([(inserted, inserted)], "num_affected_rows BIGINT, num_inserted_rows BIGINT")


def _loaded(session: Any, table: str) -> list[str]:
    for row in session.sql(f"SHOW TBLPROPERTIES {table}").collect():
        if row[0] == LOADED_PROPERTY:
            try:
                return list(json.loads(row[1]))
            except ValueError:
                return []
    return []
