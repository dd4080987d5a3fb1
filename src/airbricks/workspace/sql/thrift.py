"""The SQL connector's default protocol: HiveServer2 ``TCLIService`` over HTTP, answered on the SQL models.

``databricks-sql-connector`` (and so the provider's ``DatabricksSqlHook`` / ``DatabricksSqlOperator``) speaks
Thrift (binary protocol, one call per HTTP POST to the warehouse's ``http_path``) unless told ``use_sea``. The
service definitions are the ones the connector ships (``databricks.sql.thrift_api.TCLIService``): its generated
``Processor`` decodes each call and this handler answers it on the same models as the REST APIs: a session is a
:class:`~airbricks.workspace.sql.sessions.SqlSession`, an operation is a statement of
:mod:`airbricks.workspace.sql.statements`, results are Arrow batches of the statement's Arrow result.

Served: ``OpenSession``/``CloseSession``, ``ExecuteStatement`` (named parameters; direct results when the
statement ends within :data:`DIRECT_WAIT_SECONDS`), ``GetOperationStatus`` (waits up to
:data:`STATUS_WAIT_SECONDS`, as the real server's long poll does: the connector polls without pausing),
``GetResultSetMetadata``, ``FetchResults`` (Arrow, never cloud-fetch links), ``CancelOperation``,
``CloseOperation``. Any other call (``GetTables``, ``GetColumns``...) answers an error status that names the
REST protocol's way (``use_sea``, where they are plain SHOW statements) or a SHOW statement.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from databricks.sql.thrift_api.TCLIService import TCLIService, ttypes
from thrift.protocol import TBinaryProtocol
from thrift.transport import TTransport

from airbricks.workspace.errors import DatabricksError, MalformedRequest
from airbricks.workspace.params import Params
from airbricks.workspace.sql.sessions import SqlSessions
from airbricks.workspace.sql.statements import Statement, Statements

#: How long ``ExecuteStatement`` waits for the statement before answering with a handle to poll.
DIRECT_WAIT_SECONDS = 5.0
#: How long one ``GetOperationStatus`` waits for the statement to end (a long poll).
STATUS_WAIT_SECONDS = 1.0
#: The newest protocol answered: V8 is where the connector sends named parameters natively.
PROTOCOL = ttypes.TProtocolVersion.SPARK_CLI_SERVICE_PROTOCOL_V8
#: At most this many Thrift calls are answered at once (the others queue): sessions of concurrent Airflow tasks.
THREADS = 32
#: A fetch returns at most this many bytes of Arrow data unless the client asks for less.
_FETCH_BYTES = 8 * 1024 * 1024

_OK = ttypes.TStatus(statusCode=ttypes.TStatusCode.SUCCESS_STATUS)
_STATES = {
    "PENDING": ttypes.TOperationState.PENDING_STATE,
    "RUNNING": ttypes.TOperationState.RUNNING_STATE,
    "SUCCEEDED": ttypes.TOperationState.FINISHED_STATE,
    "FAILED": ttypes.TOperationState.ERROR_STATE,
    "CANCELED": ttypes.TOperationState.CANCELED_STATE,
    "CLOSED": ttypes.TOperationState.CLOSED_STATE,
}
_T = ttypes.TTypeId
_TYPES = {
    "INT": _T.INT_TYPE,
    "LONG": _T.BIGINT_TYPE,
    "SHORT": _T.SMALLINT_TYPE,
    "BYTE": _T.TINYINT_TYPE,
    "FLOAT": _T.FLOAT_TYPE,
    "DOUBLE": _T.DOUBLE_TYPE,
    "DECIMAL": _T.DECIMAL_TYPE,
    "STRING": _T.STRING_TYPE,
    "CHAR": _T.CHAR_TYPE,
    "BOOLEAN": _T.BOOLEAN_TYPE,
    "DATE": _T.DATE_TYPE,
    "TIMESTAMP": _T.TIMESTAMP_TYPE,
    "BINARY": _T.BINARY_TYPE,
    "ARRAY": _T.ARRAY_TYPE,
    "MAP": _T.MAP_TYPE,
    "STRUCT": _T.STRUCT_TYPE,
    "NULL": _T.NULL_TYPE,
    "INTERVAL": _T.INTERVAL_DAY_TIME_TYPE,
}


def _error(message: str, sql_state: str | None = None) -> ttypes.TStatus:
    return ttypes.TStatus(
        statusCode=ttypes.TStatusCode.ERROR_STATUS, errorMessage=message, displayMessage=message, sqlState=sql_state
    )


def _handle_id(value: str) -> ttypes.THandleIdentifier:
    raw = uuid.UUID(value).bytes
    return ttypes.THandleIdentifier(guid=raw, secret=raw)


def _id_of(handle: Any) -> str:
    guid = getattr(getattr(handle, "sessionId", None) or getattr(handle, "operationId", None), "guid", None)
    try:
        return str(uuid.UUID(bytes=guid))
    except (TypeError, ValueError):
        raise MalformedRequest("Invalid Thrift handle: expected a 16-byte guid") from None


def _column(column: dict[str, Any]) -> ttypes.TColumnDesc:
    qualifiers = None
    if column["type_name"] == "DECIMAL":
        qualifiers = ttypes.TTypeQualifiers(
            qualifiers={
                "precision": ttypes.TTypeQualifierValue(i32Value=column["type_precision"]),
                "scale": ttypes.TTypeQualifierValue(i32Value=column["type_scale"]),
            }
        )
    entry = ttypes.TPrimitiveTypeEntry(type=_TYPES.get(column["type_name"], _T.STRING_TYPE), typeQualifiers=qualifiers)
    return ttypes.TColumnDesc(
        columnName=column["name"],
        position=column["position"] + 1,
        typeDesc=ttypes.TTypeDesc(types=[ttypes.TTypeEntry(primitiveEntry=entry)]),
    )


def _parameters(raw: list[Any] | None) -> list[dict[str, Any]]:
    """Native parameters as the Statement Execution API's: named only (``:name``), typed, value as text."""
    out = []
    for position, parameter in enumerate(raw or []):
        if not parameter.name:
            raise _Refused(
                f"Parameter {position + 1} has no name: this local workspace binds named parameters "
                "(:name with a dict of values); positional '?' markers are not supported"
            )
        value = parameter.value
        text = (
            None
            if value is None
            else (
                value.stringValue
                if value.stringValue is not None
                else (str(value.booleanValue).lower() if value.booleanValue is not None else value.doubleValue)
            )
        )
        out.append(
            {"name": parameter.name, "type": parameter.type or "STRING", "value": None if text is None else str(text)}
        )
    return out


class _Refused(Exception):
    """A call this server answers with an error status (the message says what to do instead)."""


class _Operation:
    """A statement as a Thrift operation: the client fetches its rows forward from :attr:`offset`."""

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self.offset = 0


class ThriftService:
    """Answers Thrift calls on the workspace's statements and sessions (thread-safe; one per workspace)."""

    def __init__(self, statements: Statements, sessions: SqlSessions) -> None:
        self.statements = statements
        self.sessions = sessions
        self._operations: dict[str, _Operation] = {}
        self._lock = threading.Lock()
        #: Where calls run (they block while they wait for a statement): one thread per concurrent client call.
        self.threads = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="airbricks-thrift")

    def call(self, warehouse_id: str, body: bytes) -> bytes:
        """One binary-protocol call (a whole HTTP body) in, its answer out."""
        out = TTransport.TMemoryBuffer()
        processor = TCLIService.Processor(_Handler(self, warehouse_id))
        try:
            processor.process(
                TBinaryProtocol.TBinaryProtocol(TTransport.TMemoryBuffer(body)), TBinaryProtocol.TBinaryProtocol(out)
            )
        except (EOFError, TTransport.TTransportException, ValueError) as exc:
            raise MalformedRequest(
                "This is the SQL connector's Thrift endpoint (databricks-sql-connector, DatabricksSqlOperator), and "
                f"the body is not a TCLIService call in the binary protocol ({type(exc).__name__}). For SQL over plain "
                "REST use the Statement Execution API: POST /api/2.0/sql/statements."
            ) from None
        return out.getvalue()

    def add(self, statement: Statement) -> None:
        with self._lock:
            self._operations[statement.id] = _Operation(statement)

    def operation(self, handle: Any) -> _Operation:
        operation_id = _id_of(handle)
        with self._lock:
            operation = self._operations.get(operation_id)
        if operation is None:
            raise _Refused(f"Operation {operation_id} does not exist or was closed")
        return operation

    def forget(self, handle: Any) -> None:
        with self._lock:
            self._operations.pop(_id_of(handle), None)


class _Handler:
    """The ``TCLIService.Iface`` methods for one call on one warehouse."""

    def __init__(self, service: ThriftService, warehouse_id: str) -> None:
        self.service = service
        self.warehouse_id = warehouse_id

    def __getattr__(self, name: str) -> Any:
        """A TCLIService call not served: an error status naming what works."""
        response_class = getattr(ttypes, f"T{name}Resp", None)
        if response_class is None or name.startswith("_"):
            raise AttributeError(name)
        return lambda request: response_class(
            status=_error(
                f"{name} is not served by the local workspace's Thrift protocol: run the equivalent SHOW statement "
                "(SHOW TABLES, SHOW COLUMNS IN <table>, DESCRIBE ...), or connect with use_sea=True (the REST protocol,"
                " whose metadata calls are SHOW statements)"
            )
        )

    @staticmethod
    def _guarded(make: Any, response_class: Any) -> Any:
        try:
            return make()
        except _Refused as refused:
            return response_class(status=_error(str(refused)))
        except DatabricksError as exc:
            return response_class(status=_error(exc.message, "42000" if exc.status_code == 400 else None))

    # -- sessions (the method names are the Thrift service's) ----------------------------------------
    def OpenSession(self, request: Any) -> Any:
        def make() -> Any:
            namespace = request.initialNamespace
            session = self.service.sessions.open(
                self.warehouse_id,
                catalog=namespace.catalogName if namespace else None,
                schema=namespace.schemaName if namespace else None,
                configuration=request.configuration or {},
            )
            version = min(request.client_protocol_i64 or request.client_protocol or PROTOCOL, PROTOCOL)
            return ttypes.TOpenSessionResp(
                status=_OK,
                serverProtocolVersion=version,
                canUseMultipleCatalogs=True,
                sessionHandle=ttypes.TSessionHandle(sessionId=_handle_id(session.id)),
                initialNamespace=namespace,
                configuration={},
            )

        return self._guarded(make, ttypes.TOpenSessionResp)

    def CloseSession(self, request: Any) -> Any:
        def make() -> Any:
            self.service.sessions.close(_id_of(request.sessionHandle))
            return ttypes.TCloseSessionResp(status=_OK)

        return self._guarded(make, ttypes.TCloseSessionResp)

    # -- statements ----------------------------------------------------------------------------------------
    def ExecuteStatement(self, request: Any) -> Any:
        def make() -> Any:
            session_id = _id_of(request.sessionHandle)
            statement = self.service.statements.submit(
                Params(
                    {
                        "statement": request.statement,
                        "warehouse_id": self.warehouse_id,
                        "session_id": session_id,
                        # Rows are served from the Arrow result in batches: no inline size limit applies.
                        "format": "ARROW_STREAM",
                        "disposition": "EXTERNAL_LINKS",
                        "wait_timeout": "0s",
                        "row_limit": request.resultRowLimit or None,
                        "parameters": _parameters(request.parameters),
                    }
                )
            )
            self.service.add(statement)
            handle = ttypes.TOperationHandle(
                operationId=_handle_id(statement.id),
                hasResultSet=True,
                operationType=ttypes.TOperationType.EXECUTE_STATEMENT,
            )
            direct = request.getDirectResults
            if direct is None or not statement.done.wait(DIRECT_WAIT_SECONDS):
                return ttypes.TExecuteStatementResp(status=_OK, operationHandle=handle)
            results = ttypes.TSparkDirectResults(operationStatus=self._status(statement))
            if statement.state == "SUCCEEDED":
                results.resultSetMetadata = self._metadata(statement)
                results.resultSet = self._fetch(
                    self.service.operation(handle), direct.maxRows, direct.maxBytes, metadata=False
                )
            return ttypes.TExecuteStatementResp(status=_OK, operationHandle=handle, directResults=results)

        return self._guarded(make, ttypes.TExecuteStatementResp)

    def GetOperationStatus(self, request: Any) -> Any:
        def make() -> Any:
            statement = self.service.operation(request.operationHandle).statement
            statement.done.wait(STATUS_WAIT_SECONDS)
            return self._status(statement)

        return self._guarded(make, ttypes.TGetOperationStatusResp)

    def GetResultSetMetadata(self, request: Any) -> Any:
        return self._guarded(
            lambda: self._metadata(self.service.operation(request.operationHandle).statement),
            ttypes.TGetResultSetMetadataResp,
        )

    def FetchResults(self, request: Any) -> Any:
        return self._guarded(
            lambda: self._fetch(
                self.service.operation(request.operationHandle),
                request.maxRows,
                request.maxBytes,
                metadata=bool(request.includeResultSetMetadata),
            ),
            ttypes.TFetchResultsResp,
        )

    def CancelOperation(self, request: Any) -> Any:
        def make() -> Any:
            self.service.statements.cancel(self.service.operation(request.operationHandle).statement.id)
            return ttypes.TCancelOperationResp(status=_OK)

        return self._guarded(make, ttypes.TCancelOperationResp)

    def CloseOperation(self, request: Any) -> Any:
        def make() -> Any:
            operation = self.service.operation(request.operationHandle)
            self.service.statements.close(operation.statement.id)
            self.service.forget(request.operationHandle)
            return ttypes.TCloseOperationResp(status=_OK)

        return self._guarded(make, ttypes.TCloseOperationResp)

    # -- answers -------------------------------------------------------------------------------------------
    @staticmethod
    def _status(statement: Statement) -> Any:
        response = ttypes.TGetOperationStatusResp(
            status=_OK, operationState=_STATES[statement.state], hasResultSet=statement.state == "SUCCEEDED"
        )
        if statement.state == "FAILED" and statement.error:
            message = f"{statement.error.get('error_code')}: {statement.error.get('message')}"
            response.errorMessage = response.displayMessage = message
            response.sqlState = statement.sql_state
        return response

    @staticmethod
    def _metadata(statement: Statement) -> Any:
        result = statement.result
        if statement.state != "SUCCEEDED" or result is None:
            raise _Refused(f"Statement {statement.id} has no result to describe: it is {statement.state}")
        return ttypes.TGetResultSetMetadataResp(
            status=_OK,
            resultFormat=ttypes.TSparkRowSetType.ARROW_BASED_SET,
            lz4Compressed=False,
            arrowSchema=result.arrow.schema.serialize().to_pybytes(),
            isStagingOperation=False,
            schema=ttypes.TTableSchema(columns=[_column(c) for c in result.columns]),
        )

    def _fetch(self, operation: _Operation, max_rows: int | None, max_bytes: int | None, *, metadata: bool) -> Any:
        """The next rows (up to ``max_rows`` and about ``max_bytes``) as Arrow record batches."""
        statement = operation.statement
        table = statement.result.arrow if statement.state == "SUCCEEDED" and statement.result else None
        if table is None:
            raise _Refused(f"Statement {statement.id} has no result to fetch: it is {statement.state}")
        start = operation.offset
        budget = max_bytes or _FETCH_BYTES
        rows = min(max_rows or table.num_rows, table.num_rows - start)
        if rows > 0 and table.nbytes:  # fit the byte budget (at least one row)
            rows = max(1, min(rows, int(budget / max(table.nbytes / table.num_rows, 1))))
        part = table.slice(start, max(rows, 0))
        operation.offset = start + part.num_rows
        batches = [
            ttypes.TSparkArrowBatch(batch=b.serialize().to_pybytes(), rowCount=b.num_rows)
            for b in part.to_batches()
            if b.num_rows
        ]
        response = ttypes.TFetchResultsResp(
            status=_OK,
            hasMoreRows=operation.offset < table.num_rows,
            results=ttypes.TRowSet(startRowOffset=start, rows=[], arrowBatches=batches),
        )
        if metadata:
            response.resultSetMetadata = self._metadata(statement)
        return response
