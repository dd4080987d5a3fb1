"""Databricks SQL as its users write it, on local Spark: one place, before Spark parses a statement.

Used by the warehouse's statements (the Statement Execution API, the SQL connector, ``sql_task``) and by the
notebook kernel's ``spark.sql`` (so ``%sql`` too). Three kinds of statement need it:

- ``USE CATALOG c`` (Databricks syntax) is Spark's ``SET CATALOG 'c'``.
- ``CREATE OR REPLACE TABLE t ...`` and ``REPLACE TABLE t ...``: the local tables are parquet in Spark's session
  catalog, which refuses REPLACE; they run as ``DROP TABLE [IF EXISTS] t`` then ``CREATE TABLE t ...``: the same
  table afterwards, but **not atomic** (a failing ``AS SELECT`` leaves no table, and a reader in between sees
  none) and without Delta's history. With Delta loaded (``--spark-packages io.delta:...``) Delta answers them.
- ``COPY INTO`` loads files once each (:mod:`airbricks.workspace.sql.copy_into`).
- Delta-only statements (``MERGE INTO``, ``UPDATE``, ``DELETE FROM``, ``OPTIMIZE``, ``VACUUM``,
  ``DESCRIBE HISTORY``, ``RESTORE``, time travel) fail with one message naming Delta and ``--spark-packages``,
  instead of Spark's parse or table-capability errors.

And Spark's error for a catalog that does not exist becomes Databricks' (:func:`databricks_message`).
Detection is by the statement's leading keywords (comments skipped), never a full SQL parser: a statement
Spark would refuse anyway is left to Spark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from airbricks.workspace.sql import copy_into, uc_names

#: SQLSTATE of the refusals here: a feature not supported (BAD_REQUEST on the Statement Execution API).
NOT_SUPPORTED_STATE = "0A000"

_COMMENTS = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_NAME = r"(?:`[^`]+`|[A-Za-z0-9_]+)(?:\s*\.\s*(?:`[^`]+`|[A-Za-z0-9_]+)){0,2}"
_USE_CATALOG = re.compile(r"^(?:USE|SET)\s+CATALOG\s+(?P<name>`[^`]+`|[A-Za-z0-9_]+)\s*;?\s*$", re.IGNORECASE)
_REPLACE = re.compile(
    rf"^(?P<head>CREATE\s+OR\s+REPLACE|REPLACE)\s+TABLE\s+(?P<name>{_NAME})(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_DELTA_ONLY = re.compile(
    r"^(?P<what>MERGE\s+INTO|UPDATE|DELETE\s+FROM|OPTIMIZE|VACUUM|"
    r"(?:DESC|DESCRIBE)\s+HISTORY|RESTORE\s+(?:TABLE\s+)?)\b",
    re.IGNORECASE | re.DOTALL,
)
_TIME_TRAVEL = re.compile(r"\b(?:VERSION|TIMESTAMP)\s+AS\s+OF\b|@v\d+\b", re.IGNORECASE)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.DOTALL)

_MISSING_CATALOG = (
    re.compile(r"\[CATALOG_NOT_FOUND\] The catalog `(?P<name>[^`]+)` not found"),
    re.compile(
        r"\[REQUIRES_SINGLE_PART_NAMESPACE\] spark_catalog requires a single-part namespace, but got "
        r"identifier `(?P<name>[^`]+)`"
    ),
)


class DialectError(Exception):
    """A statement the local workspace refuses before Spark sees it; ``str()`` is the message for the user."""

    sql_state = NOT_SUPPORTED_STATE


@dataclass(frozen=True)
class Prepared:
    """What runs for one statement: ``before`` in order (their results dropped), then ``statement``."""

    statement: str
    before: tuple[str, ...] = ()
    #: A COPY INTO, run by :func:`airbricks.workspace.sql.copy_into.run` instead of ``statement``.
    copy: copy_into.CopyInto | None = None


def delta_loaded(spark_packages: list[str]) -> bool:
    """Whether the drivers load Delta Lake (``--spark-packages io.delta:delta-spark_...``)."""
    return any(package.lower().startswith("io.delta:") for package in spark_packages)


def strip_comments(text: str) -> str:
    """The statement without its leading whitespace and comments (what the keyword checks read)."""
    return text[_COMMENTS.match(text).end() :]  # type: ignore[union-attr]


def prepare(text: str, *, delta: bool = False, catalogs: uc_names.Catalogs | None = None) -> Prepared:
    """The statements to run for ``text``, or :class:`DialectError` when it needs what is not here.

    ``catalogs`` lists the workspace's Unity Catalog catalogs (called only for a statement that may name one):
    their three-part names, and schema names Hive refuses, become metastore databases
    (:mod:`airbricks.workspace.sql.uc_names`); without it only ``main``/``hive_metastore`` are known."""
    text = uc_names.rewrite(text, catalogs)
    body = strip_comments(text)
    catalogs_query = uc_names.show_catalogs(body, catalogs)
    if catalogs_query is not None:
        return Prepared(catalogs_query)
    use = _USE_CATALOG.match(body)
    if use:
        name = use.group("name").strip("`").replace("'", "\\'")
        if uc_names.other_catalog(name, catalogs):
            raise DialectError(
                f"[NOT_SUPPORTED] USE CATALOG {name}: the local workspace switches only to main or hive_metastore. "
                f"Name {name}'s tables with three-part names ({name}.<schema>.<table>), or set the statement's "
                "catalog field (Statement Execution API)."
            )
        return Prepared(f"SET CATALOG '{name}'")
    try:
        copy = copy_into.parse(body)
    except copy_into.CopyIntoError as refused:
        raise DialectError(str(refused)) from None
    if copy is not None:
        return Prepared(text, copy=copy)
    if delta:
        return Prepared(text)
    what = _DELTA_ONLY.match(body)
    if what:
        keywords = " ".join(what.group("what").split()[:2]).upper()
        raise DialectError(_needs_delta(keywords.replace("RESTORE TABLE", "RESTORE")))
    if _TIME_TRAVEL.search(_QUOTED.sub("''", body)):
        raise DialectError(_needs_delta("Time travel (VERSION AS OF / TIMESTAMP AS OF)"))
    replace = _REPLACE.match(body)
    if replace:
        name, rest = replace.group("name"), replace.group("rest")
        create_or_replace = replace.group("head").upper().startswith("CREATE")
        drop = f"DROP TABLE IF EXISTS {name}" if create_or_replace else f"DROP TABLE {name}"
        return Prepared(f"CREATE TABLE {name}{rest}", before=(drop,))
    return Prepared(text)


def _needs_delta(what: str) -> str:
    return (
        f"[DELTA_NOT_AVAILABLE] {what} needs a Delta table, and this local workspace's tables are parquet: "
        "Delta Lake's jars are not loaded. Start the workspace with "
        "`airbricks serve --spark-packages io.delta:delta-spark_2.13:<version>` (on a machine that can reach "
        "Maven Central) and create the table USING DELTA to use it."
    )


def databricks_message(message: str) -> str | None:
    """Databricks' message for a Spark error that means a missing catalog; None for any other error."""
    for pattern in _MISSING_CATALOG:
        found = pattern.search(message)
        if found:
            return (
                f"[NO_SUCH_CATALOG_EXCEPTION] Catalog '{found.group('name')}' was not found. Please verify the "
                "catalog name and then retry the query or command again. SQLSTATE: 42704"
            )
    return None
