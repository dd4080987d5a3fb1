"""The Statement Execution API's model: statements, their states, results and errors (no HTTP).

PENDING (queued, or waiting for its warehouse to start) -> RUNNING -> SUCCEEDED | FAILED | CANCELED, and
CLOSED once its result expired (an hour, as on the real service). Statements run asynchronously on the
warehouse's worker (:mod:`airbricks.workspace.sql.execution`); a submit waits up to ``wait_timeout`` for the
end, then continues in the background or cancels (``on_wait_timeout``). Statements live in memory: a restarted
server knows none of them (the real service keeps them an hour).
"""

from __future__ import annotations

import datetime
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from airbricks.workspace.errors import InvalidParameterValue, NotFound
from airbricks.workspace.params import Params
from airbricks.workspace.shared import Shared
from airbricks.workspace.sql.results import INLINE_LIMIT_BYTES, ResultSet
from airbricks.workspace.sql.sessions import SqlSession, SqlSessions
from airbricks.workspace.sql.warehouses import Warehouses

TERMINAL = ("SUCCEEDED", "FAILED", "CANCELED", "CLOSED")
FORMATS = ("JSON_ARRAY", "ARROW_STREAM", "CSV")
#: INLINE_OR_EXTERNAL_LINKS (the connector's "hybrid" choice) leaves the choice to the server: links, here.
DISPOSITIONS = ("INLINE", "EXTERNAL_LINKS", "INLINE_OR_EXTERNAL_LINKS")
RESULT_LIFETIME_MS = 60 * 60 * 1000
WAIT_TIMEOUT_MESSAGE = "The wait_timeout field must be 0 seconds (disables wait), or between 5 seconds and 50 seconds."
_PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Statement:
    id: str
    warehouse_id: str
    text: str
    catalog: str | None
    schema: str | None
    parameters: list[dict[str, Any]]
    format: str
    disposition: str
    row_limit: int | None
    byte_limit: int | None
    created_ms: int
    state: str = "PENDING"
    error: dict[str, Any] | None = None
    sql_state: str | None = None
    result: ResultSet | None = None
    finished_ms: int | None = None
    cancel_requested: bool = False
    #: The secret external links carry (they are fetched without the workspace token, like presigned URLs).
    link_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    done: threading.Event = field(default_factory=threading.Event)
    #: The SQL session it runs in (the connector's), whose catalog/schema it uses and a USE in it moves.
    session: SqlSession | None = None
    #: Who ran it (query history's user_id / user_name): the caller's SCIM id and name.
    user_id: str | None = None
    user_name: str | None = None
    #: When the worker began running it, and the rows it produced (query history reads them after CLOSED too).
    started_ms: int | None = None
    rows_produced: int | None = None


class StatementRunner(Protocol):
    """What runs statements (the warehouses' workers, :class:`airbricks.workspace.sql.execution.Executor`)."""

    def enqueue(self, statement: Statement) -> None: ...

    def interrupt(self, statement: Statement) -> None: ...


@dataclass(frozen=True)
class _Runner:
    """A :class:`StatementRunner` of two callables (late-bound: the executor is made after the statements)."""

    enqueue: Callable[[Statement], None]
    interrupt: Callable[[Statement], None]


def _stay_pending(_statement: Statement) -> None:
    """Without a runner, a submitted statement waits (PENDING) until canceled or expired."""


def _nothing_to_interrupt(_statement: Statement) -> None:
    """Without a runner, nothing runs that a cancel would have to interrupt."""


def wait_seconds(value: Any) -> int:
    """``wait_timeout`` as seconds: ``"0s"`` or ``"5s"``..``"50s"`` (default 10 s), else the real message."""
    if value is None:
        return 10
    match = re.fullmatch(r"\s*(\d+)\s*s\s*", str(value))
    seconds = int(match.group(1)) if match else -1
    if seconds != 0 and not 5 <= seconds <= 50:
        raise InvalidParameterValue(WAIT_TIMEOUT_MESSAGE)
    return seconds


def _choice(params: Params, name: str, allowed: tuple[str, ...], default: str) -> str:
    value = (params.str(name) or default).upper()
    if value not in allowed:
        raise InvalidParameterValue(
            f"Invalid value for field '{name}': {value[:40]!r} (use one of {', '.join(allowed)})"
        )
    return value


def _parameters(raw: list[Any] | None) -> list[dict[str, Any]]:
    """Named parameters ``[{name, value, type}]``; ``type`` defaults to STRING, ``value`` null is NULL."""
    out = []
    for position, item in enumerate(raw or []):
        if not isinstance(item, dict) or not item.get("name"):
            raise InvalidParameterValue(
                f"Invalid value for field 'parameters[{position}]': every parameter needs a "
                "'name' (and a 'value'; 'type' defaults to STRING)"
            )
        name = str(item["name"])
        if not _PARAMETER_NAME.match(name):
            raise InvalidParameterValue(
                f"Invalid parameter name '{name[:60]}': use letters, digits and underscores "
                "(referenced in the statement as :name)"
            )
        value = item.get("value")
        out.append(
            {
                "name": name,
                "value": None if value is None else str(value),
                "type": str(item.get("type") or "STRING").upper(),
            }
        )
    return out


class Statements:
    """All statements of the workspace.

    :param shared: the workspace's lock and clock.
    :param warehouses: where statements run (a stopped one starts on the first statement).
    :param sessions: the connector's SQL sessions a statement may name (default: a set of its own).
    :param enqueue: hands a new statement to its warehouse's worker (default: nothing runs it, it stays PENDING).
    :param interrupt: interrupts a running statement that was canceled.
    :param owner: the workspace user's (SCIM id, name), whom a statement without a known caller runs as.
    """

    def __init__(
        self,
        shared: Shared,
        *,
        warehouses: Warehouses,
        sessions: SqlSessions | None = None,
        enqueue: Callable[[Statement], None] = _stay_pending,
        interrupt: Callable[[Statement], None] = _nothing_to_interrupt,
        owner: Callable[[], tuple[str, str] | None] = lambda: None,
    ) -> None:
        self.shared = shared
        self.warehouses = warehouses
        self.sessions = sessions if sessions is not None else SqlSessions(shared, warehouses=warehouses)
        self.executor: StatementRunner = _Runner(enqueue, interrupt)
        self._statements: dict[str, Statement] = {}
        self.owner = owner

    def submit(self, params: Params, *, user: tuple[str, str] | None = None) -> Statement:
        """``POST /sql/statements``: validate, queue on the warehouse (starting it if stopped). ``user``: the
        caller's (SCIM id, name), the workspace user's when not given."""
        text = params.str("statement", required=True) or ""
        warehouse_id = params.str("warehouse_id", required=True) or ""
        result_format = _choice(params, "format", FORMATS, "JSON_ARRAY")
        disposition = _choice(params, "disposition", DISPOSITIONS, "INLINE")
        if disposition == "INLINE" and result_format == "CSV":
            raise InvalidParameterValue(
                "The CSV format is only supported with disposition EXTERNAL_LINKS: set "
                "disposition to EXTERNAL_LINKS, or format to JSON_ARRAY"
            )
        _choice(params, "on_wait_timeout", ("CONTINUE", "CANCEL"), "CONTINUE")
        wait_seconds(params.raw("wait_timeout"))
        state, _ = self.warehouses.state(warehouse_id)
        if state == "DELETED":
            raise NotFound(f"SQL warehouse {warehouse_id} is deleted: statements cannot run on it")
        session_id = params.str("session_id")
        session = self.sessions.find(session_id, warehouse_id) if session_id else None
        catalog, schema = session.namespace() if session else (None, None)
        statement = Statement(
            id=str(uuid.uuid4()),
            warehouse_id=warehouse_id,
            text=text,
            catalog=params.str("catalog") or catalog,
            schema=params.str("schema") or schema,
            parameters=_parameters(params.list("parameters")),
            format=result_format,
            disposition="EXTERNAL_LINKS" if disposition == "INLINE_OR_EXTERNAL_LINKS" else disposition,
            row_limit=params.int("row_limit", minimum=0),
            byte_limit=params.int("byte_limit", minimum=0),
            created_ms=self.shared.now_ms(),
            session=session,
        )
        statement.user_id, statement.user_name = user or self.owner() or (None, None)
        with self.shared.lock:
            self._statements[statement.id] = statement
        self.warehouses.ensure_started(warehouse_id)
        self.executor.enqueue(statement)
        return statement

    def find(self, statement_id: str) -> Statement:
        with self.shared.lock:
            statement = self._statements.get(statement_id)
        if statement is None:
            raise NotFound(
                f"Statement {statement_id[:80]} does not exist or its result expired (results are "
                "kept one hour; this local workspace forgets them when it restarts)"
            )
        return statement

    def cancel(self, statement_id: str) -> None:
        """``POST .../cancel``: a queued statement ends CANCELED now, a running one is interrupted."""
        statement = self.find(statement_id)
        with self.shared.lock:
            if statement.state in TERMINAL:
                return
            statement.cancel_requested = True
            if statement.state == "PENDING":
                self.finish(statement, "CANCELED")
                return
        self.executor.interrupt(statement)

    def close(self, statement_id: str) -> None:
        """``DELETE .../statements/{id}`` (the connector closing a cursor): cancel if still running, free the
        result; the statement stays readable as CLOSED."""
        statement = self.find(statement_id)
        self.cancel(statement_id)
        with self.shared.lock:
            if statement.state in TERMINAL:
                statement.state, statement.result = "CLOSED", None

    def finish(
        self,
        statement: Statement,
        state: str,
        *,
        result: ResultSet | None = None,
        error: dict[str, Any] | None = None,
        sql_state: str | None = None,
    ) -> None:
        """End a statement (the worker calls this); an INLINE result over 25 MiB fails as on the real service."""
        with self.shared.lock:
            if statement.state in TERMINAL:
                return
            if result is not None and statement.disposition == "INLINE" and result.total_bytes > INLINE_LIMIT_BYTES:
                result, state = None, "FAILED"
                error = {
                    "error_code": "BAD_REQUEST",
                    "message": (
                        f"Inline byte limit exceeded. Statements executed with disposition=INLINE can have a result "
                        f"size of at most {INLINE_LIMIT_BYTES} bytes. Please use disposition=EXTERNAL_LINKS for large "
                        "result sets."
                    ),
                }
            statement.state, statement.result, statement.error = state, result, error
            statement.sql_state = sql_state
            statement.finished_ms = self.shared.now_ms()
            if result is not None:
                statement.rows_produced = result.arrow.num_rows
        statement.done.set()

    def mark_running(self, statement: Statement) -> bool:
        """PENDING -> RUNNING; False if it was canceled meanwhile (the worker then skips it)."""
        with self.shared.lock:
            if statement.state != "PENDING":
                return False
            statement.state = "RUNNING"
            statement.started_ms = self.shared.now_ms()
            return True

    def records(self) -> list[Statement]:
        """Every statement the workspace remembers (query history reads them), oldest first."""
        with self.shared.lock:
            return list(self._statements.values())

    def tick(self, now: int) -> None:
        """Results expire an hour after the statement ended: the statement is CLOSED."""
        with self.shared.lock:
            for statement in self._statements.values():
                if (
                    statement.finished_ms is not None
                    and statement.state != "CLOSED"
                    and now - statement.finished_ms >= RESULT_LIFETIME_MS
                ):
                    statement.state, statement.result = "CLOSED", None

    # ------------------------------------------------------------------ rendering (plain data, no HTTP)

    def describe(self, statement: Statement, *, links_base: str) -> dict[str, Any]:
        """The StatementResponse: status, and once SUCCEEDED the manifest and the first chunk."""
        status: dict[str, Any] = {"state": statement.state}
        if statement.error is not None:
            status["error"] = dict(statement.error)
        if statement.sql_state:
            status["sql_state"] = statement.sql_state
        body: dict[str, Any] = {"statement_id": statement.id, "status": status}
        if statement.state == "SUCCEEDED" and statement.result is not None:
            body["manifest"] = statement.result.manifest()
            body["result"] = self.chunk_data(statement, 0, links_base=links_base)
        return body

    def chunk_data(self, statement: Statement, index: int, *, links_base: str) -> dict[str, Any]:
        """``GET .../result/chunks/{index}``: one chunk as INLINE data or as its external link."""
        result = statement.result
        if statement.state != "SUCCEEDED" or result is None:
            raise InvalidParameterValue(f"Statement {statement.id} has no result to read: it is {statement.state}")
        if not 0 <= index < len(result.chunks):
            raise InvalidParameterValue(
                f"Invalid chunk index {index}: the result has {len(result.chunks)} chunk(s)"
                f" (0..{len(result.chunks) - 1})"
            )
        if statement.disposition == "INLINE":
            return result.inline(index, statement.id)
        expires = (statement.finished_ms or self.shared.now_ms()) + RESULT_LIFETIME_MS
        expiration = (
            datetime.datetime.fromtimestamp(expires / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
            + "Z"
        )
        url = f"{links_base}/airbricks/sql-results/{statement.id}/{index}?secret={statement.link_secret}"
        return {"external_links": [result.link(index, statement.id, url, expiration)]}
