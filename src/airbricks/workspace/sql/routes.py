"""HTTP for SQL: warehouses (``/api/2.0/sql/warehouses`` and the legacy ``/sql/endpoints``), the Statement
Execution API (``/api/2.0/sql/statements``), and the result links it hands out (the SQL connector's own paths
are in :mod:`.sql_connector`).

A submit waits (polling on the event loop, never blocking it) up to ``wait_timeout`` for the statement
to end, then answers with what it has; ``on_wait_timeout=CANCEL`` cancels it first.
"""

from __future__ import annotations

import asyncio
import hmac
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.routing import Route

from airbricks.workspace.errors import InvalidParameterValue, NotFound
from airbricks.workspace.server.http import read_params, versioned, workspace
from airbricks.workspace.sql.statements import wait_seconds

router = APIRouter()
V2 = ("2.0",)
#: After a CANCEL on wait timeout, how long the answer waits for the statement to reach CANCELED.
_CANCEL_SETTLE_SECONDS = 5
_MEDIA_TYPES = {
    "JSON_ARRAY": "application/json",
    "ARROW_STREAM": "application/vnd.apache.arrow.stream",
    "CSV": "text/csv",
}


def _id(request: Request) -> str:
    return request.path_params["warehouse_id"]


def _lifecycle(action: str) -> Callable[[Request], Awaitable[dict[str, Any]]]:
    """``POST .../start`` or ``.../stop``: the answer is empty; clients poll ``get`` for the state."""

    async def endpoint(request: Request) -> dict[str, Any]:
        getattr(workspace(request).warehouses, action)(_id(request))
        return {}

    endpoint.__name__ = action
    return endpoint


def _warehouse_routes(group: str, list_key: str) -> None:
    """The warehouse endpoints under ``sql/<group>`` (``warehouses``, and ``endpoints`` for older clients)."""

    @versioned(router, ["POST"], f"sql/{group}", V2)
    async def create(request: Request) -> dict[str, Any]:
        params = await read_params(request)
        return {"id": workspace(request).warehouses.create(params.data)}

    @versioned(router, ["GET"], f"sql/{group}", V2)
    async def list_(request: Request) -> dict[str, Any]:
        return {list_key: workspace(request).warehouses.list()}

    @versioned(router, ["GET"], f"sql/{group}/{{warehouse_id}}", V2)
    async def get(request: Request) -> dict[str, Any]:
        return workspace(request).warehouses.get(_id(request))

    @versioned(router, ["DELETE"], f"sql/{group}/{{warehouse_id}}", V2)
    async def delete(request: Request) -> dict[str, Any]:
        workspace(request).warehouses.delete(_id(request))
        return {}

    @versioned(router, ["POST"], f"sql/{group}/{{warehouse_id}}/edit", V2)
    async def edit(request: Request) -> dict[str, Any]:
        params = await read_params(request)
        workspace(request).warehouses.edit(_id(request), params.data)
        return {}

    for action in ("start", "stop"):
        versioned(router, ["POST"], f"sql/{group}/{{warehouse_id}}/{action}", V2)(_lifecycle(action))


_warehouse_routes("warehouses", "warehouses")
_warehouse_routes("endpoints", "endpoints")


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


@versioned(router, ["POST"], "sql/statements", V2)
async def execute(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    statement = ws.statements.submit(params)
    wait = wait_seconds(params.raw("wait_timeout"))
    if wait and not await _ended(statement.done, wait):
        if (params.str("on_wait_timeout") or "CONTINUE").upper() == "CANCEL":
            ws.statements.cancel(statement.id)
            await _ended(statement.done, _CANCEL_SETTLE_SECONDS)
    return ws.statements.describe(statement, links_base=_links_base(request))


@versioned(router, ["GET"], "sql/statements/{statement_id}", V2)
async def get_statement(request: Request) -> dict[str, Any]:
    ws = workspace(request)
    statement = ws.statements.find(request.path_params["statement_id"])
    return ws.statements.describe(statement, links_base=_links_base(request))


@versioned(router, ["DELETE"], "sql/statements/{statement_id}", V2)
async def close_statement(request: Request) -> dict[str, Any]:
    workspace(request).statements.close(request.path_params["statement_id"])
    return {}


@versioned(router, ["POST"], "sql/statements/{statement_id}/cancel", V2)
async def cancel(request: Request) -> dict[str, Any]:
    workspace(request).statements.cancel(request.path_params["statement_id"])
    return {}


def _chunk_index(request: Request) -> int:
    text = request.path_params["chunk_index"]
    if not text.isdigit():
        raise InvalidParameterValue(f"Invalid chunk index '{text[:20]}': expected a non-negative integer")
    return int(text)


@versioned(router, ["GET"], "sql/statements/{statement_id}/result/chunks/{chunk_index}", V2)
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


router.routes.append(Route("/airbricks/sql-results/{statement_id}/{chunk_index}", result_link, methods=["GET"]))
