"""Unity Catalog names in a SQL statement onto the metastore databases Spark knows (part of the dialect step).

The drivers register ``main`` and ``hive_metastore`` as Spark catalogs (``compute/spark/unity_names.py``); their
plugin reports itself as ``spark_catalog``, the only name for which Spark runs its own (v1) commands, which the
workspace's parquet tables need (partitions in the metastore, CTAS, INSERT). Those commands take a table's
database as written, so two kinds of names are rewritten here, before Spark parses the statement, to
``spark_catalog.`<database>`.<table>`` with the database of the names contract
(:func:`airbricks.workspace.catalog.names.metastore_database`):

- three-part names of the workspace's other Unity Catalog catalogs (``files.raw.t``, and ``files.raw`` after
  ``SCHEMA``/``DATABASE``/``NAMESPACE``/``USE``/``TABLES IN``): ``uc__`` + hex of ``files.raw``;
- schema names Hive refuses (``main.`my-schema`.t``, ``FROM `my-schema`.t``, ``CREATE SCHEMA `my-schema```).

A name whose first part is no catalog of the workspace is left to Spark, which fails with the missing catalog
(Databricks' message, :func:`airbricks.workspace.sql.dialect.databricks_message`). ``SHOW CATALOGS`` answers
the workspace's catalogs (not Spark's ``spark_catalog``). The catalogs are asked for (``catalogs``, a call to
the workspace) only when a statement names something that could be one: a plain ``SELECT 1`` pays nothing.
Quoted strings and comments are never rewritten. Limits: the DataFrame API (``spark.table("files.raw.t")``)
does not pass here, and what Spark prints back (``SHOW TABLES``' namespace) is the metastore database.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from airbricks.workspace.catalog.names import DIRECT_CATALOGS, metastore_database

SESSION_CATALOG = "spark_catalog"
_IDENT = r"(?:`[^`]*`|[A-Za-z_]\w*)"
_PART = re.compile(_IDENT)
#: A dotted name (``a.b``, ``a.b.c``, longer ones left alone) or a lone backticked one.
_DOTTED = re.compile(rf"(?:`[^`]*`|\b[A-Za-z_]\w*)(?:\s*\.\s*{_IDENT})+|`[^`]*`")
_SKIPPED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)
_PLAIN = re.compile(r"^[a-z0-9_]+$")
#: The word just before a namespace (``catalog.schema`` or a lone schema) rather than a table name.
_BEFORE_NAMESPACE = {"SCHEMA", "DATABASE", "NAMESPACE", "USE"}
#: The word just before a table name, where a two-part ``schema.table`` may need its schema encoded.
_BEFORE_TABLE = {"FROM", "JOIN", "INTO", "TABLE", "UPDATE", "VIEW", "EXISTS", "OVERWRITE"}
_SHOW_CATALOGS = re.compile(r"^SHOW\s+CATALOGS(?:\s+(?:LIKE\s+)?'(?P<pattern>[^']*)')?\s*;?\s*$", re.IGNORECASE)

Catalogs = Callable[[], Iterable[str]]


class _Known:
    """The workspace's catalogs, asked for at most once per statement and only when needed."""

    def __init__(self, catalogs: Catalogs | None) -> None:
        self._catalogs = catalogs
        self._names: set[str] | None = None

    def names(self) -> set[str]:
        if self._names is None:
            self._names = {name.lower() for name in (self._catalogs() if self._catalogs else ())}
            self._names.update(DIRECT_CATALOGS)
        return self._names

    def other(self, name: str) -> bool:
        lowered = name.lower()
        if lowered in DIRECT_CATALOGS or lowered == SESSION_CATALOG or self._catalogs is None:
            return False
        return lowered in self.names()


def _unquote(part: str) -> str:
    return part[1:-1] if part.startswith("`") else part


def _needs_encoding(schema: str) -> bool:
    lowered = schema.lower()
    return not _PLAIN.match(lowered) or lowered.startswith("uc__")


def other_catalog(name: str, catalogs: Catalogs | None) -> bool:
    """Whether ``name`` is one of the workspace's catalogs other than ``main``/``hive_metastore``."""
    return _Known(catalogs).other(name)


def show_catalogs(text: str, catalogs: Catalogs | None) -> str | None:
    """A query answering ``SHOW CATALOGS [[LIKE] 'pattern']`` with the workspace's catalogs; None for others."""
    found = _SHOW_CATALOGS.match(text.strip())
    if found is None:
        return None
    names = sorted(_Known(catalogs).names())
    pattern = found.group("pattern")
    if pattern is not None:  # Databricks' pattern: * any characters, | alternatives, case-insensitive
        choices = "|".join(re.escape(p.strip()).replace(r"\*", ".*") for p in pattern.split("|"))
        names = [n for n in names if re.fullmatch(choices, n, re.IGNORECASE)]
    if not names:
        return "SELECT CAST(NULL AS STRING) AS catalog WHERE false"
    return "SELECT catalog FROM VALUES " + ", ".join(f"('{n}')" for n in names) + " AS t(catalog)"


def rewrite(text: str, catalogs: Catalogs | None) -> str:
    """``text`` with the names above rewritten (the same string when none is there)."""
    known = _Known(catalogs)
    out: list[str] = []
    start = 0
    if "." not in text and "`" not in text:
        return text  # no name that could need it (SELECT 1, SHOW CATALOGS)
    for skipped in _SKIPPED.finditer(text):
        out.append(_rewrite_code(text[start : skipped.start()], known))
        out.append(skipped.group())
        start = skipped.end()
    out.append(_rewrite_code(text[start:], known))
    return "".join(out)


def _words_before(code: str, at: int) -> list[str]:
    """The (up to four) words just before position ``at``, upper-case."""
    return code[max(0, at - 40) : at].upper().split()[-4:]


def _namespace_follows(words: list[str]) -> bool:
    """Whether a namespace follows ``words`` (``CREATE SCHEMA [IF NOT EXISTS]``, ``USE``, ``SHOW TABLES IN``)."""
    if not words:
        return False
    if words[-1] == "EXISTS":
        return any(word in _BEFORE_NAMESPACE for word in words)
    return words[-1] in _BEFORE_NAMESPACE or (words[-1] in ("IN", "FROM") and words[-2:-1] == ["TABLES"])


def _rewrite_code(code: str, known: _Known) -> str:
    def one(found: re.Match[str]) -> str:
        parts = _PART.findall(found.group())
        names = [_unquote(p) for p in parts]
        if len(parts) == 3:
            catalog, schema = names[0].lower(), names[1]
            if known.other(catalog) or (catalog in DIRECT_CATALOGS and _needs_encoding(schema)):
                return _target(catalog, schema, parts[2])
        elif len(parts) == 2 and _namespace_follows(_words_before(code, found.start())):
            catalog, schema = names[0].lower(), names[1]
            if known.other(catalog) or (catalog in DIRECT_CATALOGS and _needs_encoding(schema)):
                return _target(catalog, schema, None)
        elif len(parts) == 2 and parts[0].startswith("`") and _needs_encoding(names[0]):
            words = _words_before(code, found.start())
            if words and words[-1] in _BEFORE_TABLE:
                return _target(DIRECT_CATALOGS[0], names[0], parts[1])
        elif len(parts) == 1 and parts[0].startswith("`") and _needs_encoding(names[0]):
            if _namespace_follows(_words_before(code, found.start())):
                return _target(DIRECT_CATALOGS[0], names[0], None)
        return found.group()

    return _DOTTED.sub(one, code)


def _target(catalog: str, schema: str, table: str | None) -> str:
    database = f"{SESSION_CATALOG}.`{metastore_database(catalog, schema)}`"
    return database if table is None else f"{database}.{table}"
