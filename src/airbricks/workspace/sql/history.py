"""Query history (``GET /api/2.0/sql/history/queries``, ``w.query_history.list``): the statements run on the
workspace's warehouses (Statement Execution API, the SQL connector, ``sql_task``, the UI), newest first.

``filter_by`` narrows by start time range, statuses, user ids, warehouse ids and statement ids; a page holds
``max_results`` (default 100, below 1000) and ``next_page_token`` leads on. Each entry carries the fields
``databricks-sdk``'s ``QueryInfo`` reads; ``include_metrics`` adds the few metrics known here (times, rows).
The history is the statements the server remembers: it forgets them when it restarts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.pagination import Page, paginate
from airbricks.workspace.sql.dialect import strip_comments
from airbricks.workspace.sql.statements import Statement, Statements

#: QueryStatus values (databricks-sdk's enum), and what a statement's state reads as.
STATUSES = ("CANCELED", "COMPILED", "COMPILING", "FAILED", "FINISHED", "QUEUED", "RUNNING", "STARTED")
_STATUS_OF = {"PENDING": "QUEUED", "RUNNING": "RUNNING", "SUCCEEDED": "FINISHED", "FAILED": "FAILED"}
#: QueryStatementType values; anything else is OTHER.
STATEMENT_TYPES = (
    "ALTER ANALYZE COPY CREATE DELETE DESCRIBE DROP EXPLAIN GRANT INSERT MERGE OPTIMIZE REFRESH REPLACE "
    "REVOKE SELECT SET SHOW TRUNCATE UPDATE USE"
).split()
_FIRST_WORD = re.compile(r"^([A-Za-z]+)")
DEFAULT_RESULTS = 100
MAX_RESULTS = 1000


@dataclass(frozen=True)
class HistoryFilter:
    """``filter_by``: every given criterion must hold (an empty one holds for all)."""

    start_time_ms: int | None = None
    end_time_ms: int | None = None
    statuses: frozenset[str] = field(default_factory=frozenset)
    user_ids: frozenset[int] = field(default_factory=frozenset)
    warehouse_ids: frozenset[str] = field(default_factory=frozenset)
    statement_ids: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, values: dict[str, list[str]]) -> HistoryFilter:
        """From ``filter_by.<field>`` values (the query string's dot notation, repeated for lists)."""

        def one_int(name: str) -> int | None:
            found = values.get(f"filter_by.query_start_time_range.{name}") or []
            if not found:
                return None
            try:
                return int(found[-1])
            except ValueError:
                raise InvalidParameterValue(
                    f"filter_by.query_start_time_range.{name} must be epoch milliseconds, got '{found[-1][:40]}'"
                ) from None

        statuses = frozenset(s.upper() for s in values.get("filter_by.statuses", []))
        unknown = sorted(statuses - set(STATUSES))
        if unknown:
            raise InvalidParameterValue(
                f"filter_by.statuses: '{unknown[0][:40]}' is not a query status; use one of {', '.join(STATUSES)}"
            )
        try:
            user_ids = frozenset(int(u) for u in values.get("filter_by.user_ids", []))
        except ValueError:
            raise InvalidParameterValue("filter_by.user_ids must be numeric user ids") from None
        return cls(
            start_time_ms=one_int("start_time_ms"),
            end_time_ms=one_int("end_time_ms"),
            statuses=statuses,
            user_ids=user_ids,
            warehouse_ids=frozenset(values.get("filter_by.warehouse_ids", [])),
            statement_ids=frozenset(values.get("filter_by.statement_ids", [])),
        )

    def holds(self, statement: Statement) -> bool:
        if self.start_time_ms is not None and statement.created_ms < self.start_time_ms:
            return False
        if self.end_time_ms is not None and statement.created_ms > self.end_time_ms:
            return False
        if self.statuses and status_of(statement) not in self.statuses:
            return False
        if self.user_ids and _numeric(statement.user_id) not in self.user_ids:
            return False
        if self.warehouse_ids and statement.warehouse_id not in self.warehouse_ids:
            return False
        return not self.statement_ids or statement.id in self.statement_ids


def flatten(body: dict[str, Any], prefix: str = "") -> dict[str, list[str]]:
    """A JSON ``filter_by`` object as the query string's dot-notation lists (a GET may carry either)."""
    out: dict[str, list[str]] = {}
    for key, value in body.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out[name] = [str(v) for v in value]
        elif value is not None:
            out[name] = [str(value)]
    return out


def status_of(statement: Statement) -> str:
    """The QueryStatus of a statement (a CLOSED one by how it ended)."""
    if statement.state == "CANCELED" or statement.cancel_requested and statement.state == "CLOSED":
        return "CANCELED"
    if statement.state == "CLOSED":
        return "FAILED" if statement.error is not None else "FINISHED"
    return _STATUS_OF[statement.state]


def _numeric(user_id: str | None) -> int | None:
    return int(user_id) if user_id is not None and user_id.isdigit() else None


def statement_type(text: str) -> str:
    found = _FIRST_WORD.match(strip_comments(text))
    word = found.group(1).upper() if found else ""
    if word == "WITH" or word == "VALUES" or word == "FROM":
        return "SELECT"
    return word if word in STATEMENT_TYPES else ("DESCRIBE" if word == "DESC" else "OTHER")


class QueryHistory:
    """The history over the workspace's statements (no state of its own)."""

    def __init__(self, statements: Statements) -> None:
        self.statements = statements

    def list(
        self,
        where: HistoryFilter,
        *,
        offset: int,
        limit: int,
        include_metrics: bool = False,
        shown: Callable[[Statement], bool] = lambda _: True,
    ) -> Page[dict[str, Any]]:
        """``shown``: which statements the caller may see (its own, and those on warehouses it monitors),
        applied before paging so every page is full."""
        # Newest first; statements of the same millisecond in the order they came (records() is oldest first,
        # and a sort keeps the order of equal keys), never by their random ids.
        matching = [s for s in reversed(self.statements.records()) if where.holds(s) and shown(s)]
        matching.sort(key=lambda s: s.created_ms, reverse=True)
        page = paginate(matching, offset, limit)
        return Page([self.info(s, include_metrics) for s in page.items], page.offset, page.limit, page.total)

    @staticmethod
    def info(statement: Statement, include_metrics: bool = False) -> dict[str, Any]:
        """A statement as databricks-sdk's ``QueryInfo``."""
        status = status_of(statement)
        ended = statement.finished_ms
        user_id = _numeric(statement.user_id)
        doc: dict[str, Any] = {
            "query_id": statement.id,
            "status": status,
            "query_text": statement.text,
            "statement_type": statement_type(statement.text),
            "query_start_time_ms": statement.created_ms,
            "warehouse_id": statement.warehouse_id,
            "endpoint_id": statement.warehouse_id,
            "user_id": user_id,
            "user_name": statement.user_name,
            "executed_as_user_id": user_id,
            "executed_as_user_name": statement.user_name,
            "is_final": ended is not None,
            "lookup_key": statement.id,
        }
        if statement.session is not None:
            doc["session_id"] = statement.session.id
        if ended is not None:
            doc.update(query_end_time_ms=ended, execution_end_time_ms=ended, duration=ended - statement.created_ms)
        if statement.rows_produced is not None:
            doc["rows_produced"] = statement.rows_produced
        if statement.error is not None:
            doc["error_message"] = statement.error.get("message")
        if include_metrics:
            started = statement.started_ms
            metrics: dict[str, Any] = {"rows_produced_count": statement.rows_produced or 0}
            if ended is not None:
                metrics["total_time_ms"] = ended - statement.created_ms
                if started is not None:
                    metrics["execution_time_ms"] = ended - started
            if started is not None:
                metrics["query_start_latency_ms"] = started - statement.created_ms
            doc["metrics"] = metrics
        return {k: v for k, v in doc.items() if v is not None}
