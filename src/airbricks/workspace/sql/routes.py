"""HTTP for SQL, one table: warehouses (``/api/2.0/sql/warehouses`` and the legacy ``/sql/endpoints``), the
Statement Execution API (``/api/2.0/sql/statements``) and the result links it hands out, saved queries
(``/api/2.0/sql/queries``), query history (``/api/2.0/sql/history/queries``), and what ``databricks-sql-connector``
(the provider's ``DatabricksSqlHook``) calls:
its REST session protocol (``use_sea``: ``/api/2.0/sql/sessions``, then the Statement Execution API), its default
Thrift protocol (HiveServer2 ``TCLIService`` over HTTP at the warehouse's ``http_path``, answered by
:mod:`airbricks.workspace.sql.thrift`), and its side calls (feature flags, telemetry), answered so they cost nothing.

A submit waits (polling on the event loop, never blocking it) up to ``wait_timeout`` for the statement to end,
then answers with what it has; ``on_wait_timeout=CANCEL`` cancels it first.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import DatabricksError, InvalidParameterValue, NotFound, NotImplementedOnLocal
from airbricks.workspace.identity.routes import caller
from airbricks.workspace.pagination import page_tokens
from airbricks.workspace.params import Params
from airbricks.workspace.permissions import guard
from airbricks.workspace.permissions.guard import Rule, Target, creates, field, need, path_param, shows
from airbricks.workspace.server.http import (
    Endpoint,
    call,
    page_offset,
    page_window,
    read_body,
    read_params,
    workspace,
)
from airbricks.workspace.server.openapi import INT, STR, obj
from airbricks.workspace.sql.history import DEFAULT_RESULTS, MAX_RESULTS, HistoryFilter, QueryHistory, flatten
from airbricks.workspace.sql.statements import Statement, wait_seconds

#: After a CANCEL on wait timeout, how long the answer waits for the statement to reach CANCELED.
_CANCEL_SETTLE_SECONDS = 5
_MEDIA_TYPES = {
    "JSON_ARRAY": "application/json",
    "ARROW_STREAM": "application/vnd.apache.arrow.stream",
    "CSV": "text/csv",
}
#: Thrift messages are small (a statement, a fetch request); a larger body is not a client of ours.
_THRIFT_BODY_LIMIT = 16 * 1024 * 1024
#: The header databricks-sql-connector reads an HTTP error's message from on its Thrift path.
THRIFT_ERROR_HEADER = "x-thriftserver-error-message"


# ---------------------------------------------------------------------------------------------- warehouses


def _warehouse_id(request: Request) -> str:
    return request.path_params["id"]


async def get_warehouse(request: Request) -> dict[str, Any]:
    return workspace(request).warehouses.get(_warehouse_id(request))


async def delete_warehouse(request: Request) -> None:
    workspace(request).warehouses.delete(_warehouse_id(request))


async def edit_warehouse(request: Request) -> None:
    params = await read_params(request)
    workspace(request).warehouses.edit(_warehouse_id(request), params.data)


async def start_warehouse(request: Request) -> None:
    """The answer is empty: clients poll ``get`` for the state."""
    workspace(request).warehouses.start(_warehouse_id(request))


async def stop_warehouse(request: Request) -> None:
    workspace(request).warehouses.stop(_warehouse_id(request))


def _warehouse_rows(group: str, list_key: str, *, documented: bool) -> list[Endpoint]:
    """The warehouse endpoints under ``sql/<group>`` (``warehouses``, and ``endpoints`` for older clients)."""
    base = f"/api/2.0/sql/{group}"

    async def create_warehouse(request: Request) -> dict[str, Any]:
        """The caller is the warehouse's ``creator_name``, as on Databricks."""
        params = await read_params(request)
        return {"id": workspace(request).warehouses.create(params.data, creator=caller(request).name)}

    async def list_warehouses(request: Request) -> dict[str, Any]:
        return {list_key: workspace(request).warehouses.list()}

    def doc(fields: dict[str, Any]) -> dict[str, Any] | None:
        return fields if documented else None

    return [
        Endpoint(
            "POST",
            base,
            create_warehouse,
            fields=doc({"name": STR, "cluster_size": STR, "auto_stop_mins": INT, "max_num_clusters": INT}),
        ),
        Endpoint("GET", base, list_warehouses, fields=doc({})),
        Endpoint("GET", base + "/{id}", get_warehouse, fields=doc({})),
        Endpoint("DELETE", base + "/{id}", delete_warehouse, fields=doc({})),
        Endpoint("POST", base + "/{id}/edit", edit_warehouse, fields=doc({"name": STR, "auto_stop_mins": INT})),
        Endpoint("POST", base + "/{id}/start", start_warehouse),
        Endpoint("POST", base + "/{id}/stop", stop_warehouse),
    ]


# ---------------------------------------------------------------------------------------------- statements


def _links_base(request: Request) -> str:
    """Result links point at the listener the request came in on (HTTPS for the SQL connector)."""
    ws = workspace(request)
    return ws.tls_url if request.url.scheme == "https" and ws.tls_url else ws.url


async def _ended(done: threading.Event, seconds: float) -> bool:
    """Whether the statement ended within ``seconds``: polled on the event loop (5 ms steps), so any number of
    waiting submits costs no threads (the default executor has only a few)."""
    deadline = time.monotonic() + seconds
    while not done.is_set():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.005)
    return True


async def execute(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    principal = getattr(request.state, "principal", None)
    statement = ws.statements.submit(params, user=(principal.id, principal.name) if principal else None)
    wait = wait_seconds(params.raw("wait_timeout"))
    if wait and not await _ended(statement.done, wait):
        if (params.str("on_wait_timeout") or "CONTINUE").upper() == "CANCEL":
            ws.statements.cancel(statement.id)
            await _ended(statement.done, _CANCEL_SETTLE_SECONDS)
    return ws.statements.describe(statement, links_base=_links_base(request))


async def get_statement(request: Request) -> dict[str, Any]:
    ws = workspace(request)
    statement = ws.statements.find(request.path_params["statement_id"])
    return ws.statements.describe(statement, links_base=_links_base(request))


async def close_statement(request: Request) -> None:
    workspace(request).statements.close(request.path_params["statement_id"])


async def cancel_statement(request: Request) -> None:
    workspace(request).statements.cancel(request.path_params["statement_id"])


def _chunk_index(request: Request) -> int:
    text = request.path_params["chunk_index"]
    if not text.isdigit():
        raise InvalidParameterValue(f"Invalid chunk index '{text[:20]}': expected a non-negative integer")
    return int(text)


async def chunk(request: Request) -> dict[str, Any]:
    ws = workspace(request)
    statement = ws.statements.find(request.path_params["statement_id"])
    return ws.statements.chunk_data(statement, _chunk_index(request), links_base=_links_base(request))


async def result_link(request: Request) -> Response:
    """An EXTERNAL_LINKS chunk: fetched without the workspace token (the link's secret stands in for it)."""
    ws = workspace(request)
    statement = ws.statements.find(request.path_params["statement_id"])
    if not hmac.compare_digest(request.query_params.get("secret", ""), statement.link_secret):
        raise NotFound("This result link is not valid: use the external_link the statement returned")
    index = _chunk_index(request)
    ws.statements.chunk_data(statement, index, links_base="")  # validates state and index
    assert statement.result is not None
    payload = await asyncio.to_thread(statement.result.payload, index)
    return Response(payload, media_type=_MEDIA_TYPES[statement.format])


_STATEMENT_FIELDS = {
    "statement": STR,
    "warehouse_id": STR,
    "catalog": STR,
    "schema": STR,
    "wait_timeout": STR,
    "on_wait_timeout": STR,
    "disposition": STR,
    "format": STR,
    "row_limit": INT,
}


# ---------------------------------------------------------------------------------------------- query history


async def list_query_history(request: Request) -> dict[str, Any]:
    """``filter_by`` arrives in dot notation (``filter_by.user_ids=1&filter_by.user_ids=2``) or as a JSON body."""
    params = await read_params(request)
    values: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        values.setdefault(key, []).append(value)
    values.update(flatten(params.dict("filter_by") or {}, "filter_by."))
    limit = params.int("max_results", default=DEFAULT_RESULTS, minimum=1, maximum=MAX_RESULTS - 1)
    ws, who = workspace(request), caller(request)
    page = QueryHistory(ws.statements).list(
        HistoryFilter.parse(values),
        offset=page_offset(params),
        limit=limit or DEFAULT_RESULTS,
        include_metrics=params.bool("include_metrics"),
        shown=lambda statement: guard.sees(ws, who, _owned(statement), _MONITOR),
    )
    return {"res": page.items, "has_next_page": page.has_more, **page_tokens(page)}


# ---------------------------------------------------------------------------------------------- saved queries


def _list_queries(ws: Workspace, params: Params) -> dict[str, Any]:
    offset, limit = page_window(params, default_limit=20, max_limit=100, size_field="page_size")
    page = ws.queries.list(offset=offset, limit=limit)
    return {"results": page.items, **page_tokens(page)}


async def get_query(request: Request) -> dict[str, Any]:
    return workspace(request).queries.get(request.path_params["query_id"])


async def update_query(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    return workspace(request).queries.update(
        request.path_params["query_id"], params.raw("query"), params.raw("update_mask")
    )


async def delete_query(request: Request) -> None:
    workspace(request).queries.delete(request.path_params["query_id"])


# ---------------------------------------------------------------------------------------------- the SQL connector


def _open_session(ws: Workspace, params: Params) -> dict[str, Any]:
    session = ws.sql_sessions.open(
        params.str("warehouse_id", required=True),
        catalog=params.str("catalog"),
        schema=params.str("schema"),
        configuration=params.raw("session_confs"),
    )
    return {"session_id": session.id}


async def close_session(request: Request) -> None:
    workspace(request).sql_sessions.close(request.path_params["session_id"])


async def feature_flags(_: Request) -> dict[str, Any]:
    """No flags: the connector keeps its defaults (and asks again in an hour)."""
    return {"flags": [], "ttl_seconds": 3600}


async def telemetry(request: Request) -> Response:
    """The connector's usage telemetry: read and dropped (nothing of it is kept or logged)."""
    await read_body(request, _THRIFT_BODY_LIMIT)
    return Response(b'{"errors":[],"numSuccess":0,"numProtoSuccess":0}', media_type="application/json")


def _for_the_connector(exc: DatabricksError) -> DatabricksError:
    """The connector shows an HTTP error's message only from this header (as the real service sends it)."""
    exc.headers = {
        **exc.headers,
        THRIFT_ERROR_HEADER: " ".join(exc.message.split())[:2000].encode("latin-1", "replace").decode("latin-1"),
    }
    return exc


async def thrift(request: Request) -> Response:
    """One Thrift call (binary protocol) to the warehouse in the path, answered by :mod:`.thrift`."""
    try:
        return await _thrift(request)
    except DatabricksError as exc:
        raise _for_the_connector(exc) from None


async def cluster_thrift(request: Request) -> Response:
    """An all-purpose cluster's ``http_path``: not served (statements run on warehouses here)."""
    raise _for_the_connector(
        NotImplementedOnLocal(
            f"SQL on an all-purpose cluster's http_path ({request.url.path}) is not served by the local workspace: "
            "use a SQL warehouse, http_path /sql/1.0/warehouses/<id> (its odbc_params.path) or sql_endpoint_name "
            "(warehouses share the clusters' tables)"
        )
    )


async def _thrift(request: Request) -> Response:
    from airbricks.workspace.sql.thrift import ThriftService

    body = await read_body(request, _THRIFT_BODY_LIMIT)
    ws, state = workspace(request), request.app.state
    service = getattr(state, "thrift_service", None)
    if service is None:  # made on first use: the thrift package comes with the connector, not the server
        service = state.thrift_service = ThriftService(ws.statements, ws.sql_sessions)
    # Calls wait for statements (up to a few seconds), so they run on the service's own threads, never on the
    # event loop's default executor that other routes share.
    answer = await asyncio.get_running_loop().run_in_executor(
        service.threads, service.call, request.path_params["warehouse_id"], body
    )
    return Response(answer, media_type="application/x-thrift")


ROUTES: list[Endpoint] = [
    *_warehouse_rows("warehouses", "warehouses", documented=True),
    *_warehouse_rows("endpoints", "endpoints", documented=False),
    Endpoint(
        "POST", "/api/2.0/sql/statements", execute, fields=_STATEMENT_FIELDS, required=("statement", "warehouse_id")
    ),
    Endpoint("GET", "/api/2.0/sql/statements/{statement_id}", get_statement, fields={}),
    Endpoint("DELETE", "/api/2.0/sql/statements/{statement_id}", close_statement, fields={}),
    Endpoint("POST", "/api/2.0/sql/statements/{statement_id}/cancel", cancel_statement, fields={}),
    Endpoint("GET", "/api/2.0/sql/statements/{statement_id}/result/chunks/{chunk_index}", chunk),
    Endpoint("GET", "/airbricks/sql-results/{statement_id}/{chunk_index}", result_link),
    call(
        "POST",
        "/api/2.0/sql/queries",
        lambda ws, p: ws.queries.create(p.raw("query")),
        fields={"query": obj(display_name=STR, query_text=STR, warehouse_id=STR)},
    ),
    Endpoint("GET", "/api/2.0/sql/history/queries", list_query_history),
    call("GET", "/api/2.0/sql/queries", _list_queries, fields={"page_size": INT, "page_token": STR}),
    Endpoint("GET", "/api/2.0/sql/queries/{query_id}", get_query),
    Endpoint("PATCH", "/api/2.0/sql/queries/{query_id}", update_query),
    Endpoint("DELETE", "/api/2.0/sql/queries/{query_id}", delete_query),
    call("POST", "/api/2.0/sql/sessions", _open_session),
    Endpoint("DELETE", "/api/2.0/sql/sessions/{session_id}", close_session),
    Endpoint("GET", "/api/2.0/connector-service/feature-flags/{client}/{client_version}", feature_flags),
    Endpoint("POST", "/telemetry-ext", telemetry),
    Endpoint("POST", "/sql/protocolv1/o/{org_id}/{cluster_id}", cluster_thrift),
    Endpoint("POST", "/sql/1.0/warehouses/{warehouse_id}", thrift),
    Endpoint("POST", "/sql/1.0/endpoints/{warehouse_id}", thrift),
]


def _owned(statement: Statement) -> guard.Owned:
    """A statement as the permission rules see it: who ran it, reached through its warehouse."""
    return guard.Owned("statement", statement.id, statement.user_name, Target("warehouses", statement.warehouse_id))


def _statement(ws: Workspace, request: Request) -> guard.Owned:
    """A statement by id (a missing one answers NOT_FOUND)."""
    return _owned(ws.statements.find(request.path_params["statement_id"]))


_STATEMENT_ROWS = (
    ("GET", "/api/2.0/sql/statements/{statement_id}"),
    ("DELETE", "/api/2.0/sql/statements/{statement_id}"),
    ("POST", "/api/2.0/sql/statements/{statement_id}/cancel"),
    ("GET", "/api/2.0/sql/statements/{statement_id}/result/chunks/{chunk_index}"),
)


def _warehouse_rules(group: str, list_key: str) -> dict[str, Rule]:
    base, on_it = f"/api/2.0/sql/{group}", path_param("warehouses", "id")
    return {
        f"POST {base}": creates("warehouses", lambda _, answer: answer["id"], acl_field=None),
        f"GET {base}": shows(list_key, "warehouses", "id"),
        f"GET {base}/{{id}}": need("CAN_VIEW", on_it),
        f"POST {base}/{{id}}/start": need(_USE, on_it),
        f"POST {base}/{{id}}/stop": need(_MANAGE, on_it),
        f"POST {base}/{{id}}/edit": need(_MANAGE, on_it),
        f"DELETE {base}/{{id}}": need(_MANAGE, on_it),
    }


#: Who may do what to a warehouse (:mod:`airbricks.workspace.permissions`): seeing it takes CAN_VIEW; using it
#: (statements, sessions, the connector's Thrift path) CAN_USE; another user's statement (by id, in query
#: history) CAN_MONITOR; stopping, editing and deleting it CAN_MANAGE.
_USE, _MONITOR, _MANAGE = "CAN_USE", "CAN_MONITOR", "CAN_MANAGE"
PERMISSIONS: dict[str, Rule] = {
    **_warehouse_rules("warehouses", "warehouses"),
    **_warehouse_rules("endpoints", "endpoints"),
    "POST /api/2.0/sql/statements": need(_USE, field("warehouses", "warehouse_id")),
    **{f"{method} {path}": guard.own_or(_USE, _MONITOR, _statement) for method, path in _STATEMENT_ROWS},
    "POST /api/2.0/sql/sessions": need(_USE, field("warehouses", "warehouse_id")),
    "POST /sql/1.0/warehouses/{warehouse_id}": need(_USE, path_param("warehouses", "warehouse_id")),
    "POST /sql/1.0/endpoints/{warehouse_id}": need(_USE, path_param("warehouses", "warehouse_id")),
}
