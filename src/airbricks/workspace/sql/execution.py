"""Running statements: one worker thread per warehouse, over one Spark Connect session to its driver.

A worker takes statements in order, waits (PENDING) while the warehouse starts, then runs each with the
statement's catalog/schema and typed named parameters (``:name`` markers, bound as ``CAST(value AS type)``),
fetches at most ``row_limit + 1`` rows as Arrow, and builds the result (:mod:`airbricks.workspace.sql.results`).
Every statement is tagged with its id, so a cancel interrupts exactly it (Spark Connect ``interruptTag``).
Spark's errors become the real service's: ``error_code`` BAD_REQUEST with Spark's message and ``sql_state``.
Long because the worker's loop, its Spark session's life and a statement's execution share the worker's state.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from airbricks.workspace.catalog.names import metastore_database
from airbricks.workspace.compute.spark.unity_names import PLUGIN
from airbricks.workspace.compute.termination import TerminationReason
from airbricks.workspace.sql import copy_into
from airbricks.workspace.sql.describe import describe_detail, detail_target
from airbricks.workspace.sql.dialect import DialectError, databricks_message, delta_loaded, prepare
from airbricks.workspace.sql.results import CHUNK_BYTES, build
from airbricks.workspace.sql.statements import Statement, Statements
from airbricks.workspace.sql.warehouses import Warehouses

log = logging.getLogger("airbricks.workspace.sql")

#: How long a statement waits for its warehouse to be RUNNING before it fails.
START_WAIT_SECONDS = 300
#: How long a cancel keeps interrupting a statement that has not ended yet.
INTERRUPT_SECONDS = 30
#: The catalog of a statement that names none (the drivers' ``spark.sql.defaultCatalog``).
DEFAULT_CATALOG = "main"
#: pyspark logs every failed query with its JVM stack trace on these; here the statement's status says it.
_PYSPARK_ERROR_LOGGERS = ("SQLQueryContextLogger", "DataFrameQueryContextLogger")
#: Queued instead of a statement: connect the worker's session while the warehouse becomes RUNNING.
_WARM = object()


def spark_error(exc: BaseException) -> tuple[dict[str, Any], str | None]:
    """A Spark exception as the Statement Execution API's ``status.error`` and ``status.sql_state``: errors in the
    statement (SQLSTATE classes 0A, 2x, 42) are BAD_REQUEST as on the real service, anything else INTERNAL_ERROR."""
    if isinstance(exc, ParameterError):
        return {"error_code": "BAD_REQUEST", "message": str(exc)}, "22023"
    if isinstance(exc, DialectError):
        return {"error_code": "BAD_REQUEST", "message": str(exc)}, exc.sql_state
    try:
        sql_state = exc.getSqlState()  # type: ignore[attr-defined]
    except Exception:
        sql_state = None
    message = (str(exc).strip() or type(exc).__name__).split("\n\nJVM stacktrace:")[0]
    databricks = databricks_message(message)
    if databricks is not None:
        return {"error_code": "BAD_REQUEST", "message": databricks}, "42704"
    user_error = bool(sql_state) and (sql_state.startswith(("0A", "42")) or sql_state[0] == "2")
    return {"error_code": "BAD_REQUEST" if user_error else "INTERNAL_ERROR", "message": message[:20000]}, sql_state


_INTEGERS = ("INT", "INTEGER", "BIGINT", "LONG", "SMALLINT", "SHORT", "TINYINT", "BYTE")


class ParameterError(ValueError):
    """A parameter's value does not fit its declared type (the statement fails with this message)."""


def typed_value(parameter: dict[str, Any]) -> Any:
    """A named parameter's string value as the Python value Spark binds for its declared ``type``."""
    import datetime
    from decimal import Decimal, InvalidOperation

    value, kind, name = parameter["value"], parameter["type"], parameter["name"]
    base = kind.split("(")[0].strip()
    if value is None:
        return None
    try:
        if base in _INTEGERS:
            return int(value)
        if base in ("DOUBLE", "FLOAT", "REAL"):
            return float(value)
        if base in ("DECIMAL", "DEC", "NUMERIC"):
            return Decimal(value)
        if base == "BOOLEAN":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
        if base == "DATE":
            return datetime.date.fromisoformat(value)
        if base in ("TIMESTAMP", "TIMESTAMP_NTZ"):
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if base in ("STRING", "VARCHAR", "CHAR"):
            return value
    except (ValueError, InvalidOperation):
        raise ParameterError(
            f"[INVALID_PARAMETER_MARKER_VALUE] The value '{value[:100]}' of parameter '{name}' "
            f"cannot be read as {kind}."
        ) from None
    raise ParameterError(
        f"[INVALID_PARAMETER_MARKER_VALUE] Parameter '{name}' has type {kind[:40]}, which this "
        "local workspace cannot bind: use STRING, INT, BIGINT, SMALLINT, TINYINT, DOUBLE, FLOAT, "
        "DECIMAL, BOOLEAN, DATE or TIMESTAMP."
    )


def _spark_schema(table: Any, frame: Any) -> Any:
    """The result's Spark schema, read off the Arrow table Spark sent (asking the driver costs a round trip)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    try:
        return from_arrow_schema(table.schema, prefer_timestamp_ntz=True)
    except Exception:
        return frame.schema


class _Worker:
    """The statements of one warehouse, run one at a time in a thread of its own."""

    def __init__(self, warehouse_id: str, executor: Executor) -> None:
        self.warehouse_id = warehouse_id
        self.executor = executor
        self.queue: queue.Queue[Any] = queue.Queue()
        self.current: Statement | None = None
        self.session: Any = None
        self.remote: str | None = None
        #: The session's current (catalog, schema), so a statement pays the two USE commands only on a change.
        self.namespace: tuple[str, str] | None = None
        #: The session whose channel :meth:`abandon` closed (its driver stopped); the next statement reconnects.
        self.abandoned: Any = None
        self.thread = threading.Thread(target=self._loop, daemon=True, name=f"airbricks-sql-{warehouse_id}")
        self.thread.start()

    @property
    def busy(self) -> bool:
        return isinstance(self.current, Statement) or any(isinstance(s, Statement) for s in list(self.queue.queue))

    def _loop(self) -> None:
        while True:
            statement = self.queue.get()
            if statement is None:
                break
            if statement is _WARM:
                self._warm()
                continue
            self.current = statement
            try:
                self._run(statement)
            except Exception as exc:
                log.exception("statement %s failed unexpectedly", statement.id)
                error, sql_state = spark_error(exc)
                self.executor.statements.finish(statement, "FAILED", error=error, sql_state=sql_state)
            finally:
                self.current = None
                self.executor.warehouses.mark_active(self.warehouse_id)
        self._close()

    def _wait_running(self, statement: Statement) -> str | None:
        """The driver's URL once the warehouse runs; None after ending the statement (failed start, cancel)."""
        deadline = time.monotonic() + START_WAIT_SECONDS
        statements = self.executor.statements
        while True:
            if statement.state != "PENDING":
                return None
            state, health = self.executor.warehouses.state(self.warehouse_id)
            if state == "RUNNING":
                remote = self.executor.warehouses.remote(self.warehouse_id)
                if remote:
                    return remote
            elif state == "DELETED" or (state == "STOPPED" and health.get("status") == "FAILED"):
                reason = TerminationReason.from_doc(health.get("failure_reason"))
                kind = reason.type if reason else None
                code = (
                    "RESOURCE_EXHAUSTED"
                    if kind == "CLOUD_FAILURE"
                    else ("BAD_REQUEST" if kind == "CLIENT_ERROR" else "INTERNAL_ERROR")
                )
                message = (
                    f"SQL warehouse {self.warehouse_id} was deleted"
                    if state == "DELETED"
                    else f"SQL warehouse {self.warehouse_id} failed to start: {health.get('summary')}"
                )
                statements.finish(statement, "FAILED", error={"error_code": code, "message": message})
                return None
            elif state == "STOPPED":
                self.executor.warehouses.ensure_started(self.warehouse_id)  # stopped again meanwhile
            if time.monotonic() > deadline:
                statements.finish(
                    statement,
                    "FAILED",
                    error={
                        "error_code": "DEADLINE_EXCEEDED",
                        "message": (f"SQL warehouse {self.warehouse_id} did not start within {START_WAIT_SECONDS} s"),
                    },
                )
                return None
            time.sleep(0.05)

    def _warm(self) -> None:
        """Connect and run one query before the first statement needs it (a new client costs ~1-2 s)."""
        remote = self.executor.warehouses.remote(self.warehouse_id)
        if remote is None:
            return
        try:
            self._session(remote).sql("SELECT 1").collect()
        except Exception:
            log.debug("warm-up of warehouse %s failed", self.warehouse_id, exc_info=True)
            self._close(driver_alive=False)

    def _session(self, remote: str) -> Any:
        if self.session is None or self.remote != remote or self.session is self.abandoned:
            self._close(driver_alive=False)  # an old driver is gone: releasing its session would retry for minutes
            from airbricks.workspace.compute.spark.connect import open_session

            for name in _PYSPARK_ERROR_LOGGERS:  # a failed statement is the client's answer, not a server error
                logging.getLogger(name).setLevel(logging.CRITICAL)
            self.session = open_session(remote)
            self.remote = remote
            self.namespace = None
        return self.session

    def _close(self, *, driver_alive: bool = True) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        if driver_alive and self.remote == self.executor.warehouses.remote(self.warehouse_id):
            from airbricks.workspace.compute.spark.connect import close_session

            close_session(session)
        else:
            try:
                session.client.close()
            except Exception:
                pass

    def _run(self, statement: Statement) -> None:
        remote = self._wait_running(statement)
        if remote is None:
            return
        statements = self.executor.statements
        if not statements.mark_running(statement):
            return
        session = self._session(remote)
        session.addTag(statement.id)
        try:
            if statement.cancel_requested:
                raise InterruptedError("canceled before it started")
            table, schema = self._execute(session, statement)
        except Exception as exc:
            if statement.cancel_requested:
                statements.finish(statement, "CANCELED")
                return
            if self._connection_lost(exc) or session is self.abandoned:
                self._close(driver_alive=False)
                error, sql_state = (
                    {
                        "error_code": "INTERNAL_ERROR",
                        "message": (
                            f"SQL warehouse {self.warehouse_id} stopped while the statement ran: {str(exc)[:300]}"
                        ),
                    },
                    None,
                )
            else:
                error, sql_state = spark_error(exc)
            statements.finish(statement, "FAILED", error=error, sql_state=sql_state)
            return
        finally:
            try:
                session.removeTag(statement.id)
            except Exception:
                pass
        if statement.cancel_requested:
            statements.finish(statement, "CANCELED")
            return
        result = build(
            table,
            schema,
            result_format=statement.format,
            row_limit=statement.row_limit,
            byte_limit=statement.byte_limit,
            chunk_bytes=self.executor.chunk_bytes,
        )
        statements.finish(statement, "SUCCEEDED", result=result)

    def _execute(self, session: Any, statement: Statement) -> tuple[Any, Any]:
        catalog = (statement.catalog or DEFAULT_CATALOG).lower()
        if catalog == "spark_catalog":  # the plugin over it answers to that name: set the catalog by its own
            catalog = "hive_metastore"
        namespace = (catalog, statement.schema or "default")
        if catalog not in ("main", "hive_metastore") and catalog in self.executor.catalogs():  # e.g. "files"
            namespace = ("spark_catalog", metastore_database(*namespace))  # its schemas are encoded databases
        if namespace != self.namespace:
            self.namespace = None
            if namespace[0] == "spark_catalog":  # main's plugin answers to that name too, so switching to it by
                # name is a no-op: go through the catalog's own plugin (registered for this session) first
                session.conf.set(f"spark.sql.catalog.{catalog}", PLUGIN)
                session.catalog.setCurrentCatalog(catalog)
            session.catalog.setCurrentCatalog(namespace[0])
            session.catalog.setCurrentDatabase(namespace[1])
            self.namespace = namespace
        packages = self.executor.warehouses.shared.config.spark_packages
        detail = detail_target(statement.text, packages)
        if detail:
            return describe_detail(session, detail)
        prepared = prepare(statement.text, delta=delta_loaded(packages), catalogs=self.executor.catalogs)
        moves = prepared.statement.lower().startswith(("use", "set catalog"))
        if moves:
            self.namespace = None  # the statement moves the session itself
        args = {p["name"]: typed_value(p) for p in statement.parameters}
        for before in prepared.before:
            session.sql(before)  # a command: runs when sent
        if prepared.copy is not None:
            frame = copy_into.run(session, prepared.copy)
        else:
            frame = session.sql(prepared.statement, args=args or None)
        if statement.row_limit is not None:
            frame = frame.limit(statement.row_limit + 1)
        table = frame.toArrow()
        if moves and statement.session is not None:
            # Spark's currentCatalog() names the plugin's v1 name (spark_catalog); current_catalog() the UC one
            where = session.sql("SELECT current_catalog(), current_schema()").first()
            statement.session.moved_to(where[0], where[1])
        return table, _spark_schema(table, frame)

    @staticmethod
    def _connection_lost(exc: BaseException) -> bool:
        text = f"{type(exc).__name__} {exc}"
        return "UNAVAILABLE" in text or "StatusCode.CANCELLED" in text or "Connection refused" in text

    def abandon(self) -> None:
        session = self.session
        if session is not None:
            self.abandoned = session
            try:
                session.client.close()
            except Exception:
                pass

    def interrupt(self, statement: Statement) -> None:
        session = self.session
        if session is not None and self.current is statement:
            try:
                session.interruptAll()  # the worker's session runs nothing but this statement
            except Exception:
                log.warning("interrupt of statement %s failed", statement.id, exc_info=True)


class Executor:
    """The workers of all warehouses (created on a warehouse's first statement)."""

    def __init__(
        self, statements: Statements, warehouses: Warehouses, catalogs: Callable[[], Iterable[str]] = lambda: ()
    ) -> None:
        self.statements, self.warehouses = statements, warehouses
        #: The workspace's Unity Catalog catalog names (asked for by the dialect step when a name may be one).
        self.catalogs = catalogs
        self.chunk_bytes = CHUNK_BYTES
        self._workers: dict[str, _Worker] = {}
        self._lock = threading.Lock()

    def _worker(self, warehouse_id: str) -> _Worker:
        with self._lock:
            worker = self._workers.get(warehouse_id)
            if worker is None:
                worker = self._workers[warehouse_id] = _Worker(warehouse_id, self)
            return worker

    def enqueue(self, statement: Statement) -> None:
        self._worker(statement.warehouse_id).queue.put(statement)

    def warm(self, warehouse_id: str) -> None:
        """The warehouse just became RUNNING: its worker connects now, so the first statement is fast."""
        self._worker(warehouse_id).queue.put(_WARM)

    def abandon(self, warehouse_id: str) -> None:
        """The warehouse's driver is going away: close the worker's channel (a running statement fails now)."""
        worker = self._workers.get(warehouse_id)
        if worker is not None:
            worker.abandon()

    def interrupt(self, statement: Statement) -> None:
        """Interrupt a running statement, again until it ends: a cancel that lands between the worker marking
        it RUNNING and its query reaching the driver would otherwise find nothing to interrupt."""
        worker = self._workers.get(statement.warehouse_id)
        if worker is None:
            return

        def keep_interrupting() -> None:
            deadline = time.monotonic() + INTERRUPT_SECONDS
            while not statement.done.is_set() and time.monotonic() < deadline:
                worker.interrupt(statement)
                statement.done.wait(0.25)

        threading.Thread(target=keep_interrupting, daemon=True, name=f"airbricks-sql-cancel-{statement.id}").start()

    def is_busy(self, warehouse_id: str) -> bool:
        worker = self._workers.get(warehouse_id)
        return worker is not None and worker.busy

    def shutdown(self) -> None:
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        for worker in workers:
            current = worker.current
            if current is not None:
                worker.interrupt(current)
            worker.queue.put(None)
        for worker in workers:
            worker.thread.join(timeout=5)
