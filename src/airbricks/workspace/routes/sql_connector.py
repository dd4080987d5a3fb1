"""HTTP for ``databricks-sql-connector`` (the provider's ``DatabricksSqlHook``): its REST session protocol
(``use_sea``: ``/api/2.0/sql/sessions``, then the Statement Execution API), its default Thrift protocol
(HiveServer2 ``TCLIService`` over HTTP at the warehouse's ``http_path``), and the side calls it makes (feature
flags, telemetry) answered so that they cost nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.routing import Route

from airbricks.workspace.routes import read_body, read_params, versioned, workspace

router = APIRouter()
V2 = ("2.0",)
#: Thrift messages are small (a statement, a fetch request); a larger body is not a client of ours.
_THRIFT_BODY_LIMIT = 16 * 1024 * 1024


@versioned(router, ["POST"], "sql/sessions", V2)
async def open_session(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    session = workspace(request).sql_sessions.open(
        params.str("warehouse_id", required=True) or "", catalog=params.str("catalog"), schema=params.str("schema"),
        configuration=params.raw("session_confs"))
    return {"session_id": session.id}


@versioned(router, ["DELETE"], "sql/sessions/{session_id}", V2)
async def close_session(request: Request) -> dict[str, Any]:
    workspace(request).sql_sessions.close(request.path_params["session_id"])
    return {}


@versioned(router, ["GET"], "connector-service/feature-flags/{client}/{version}", V2)
async def feature_flags(request: Request) -> dict[str, Any]:
    """No flags: the connector keeps its defaults (and asks again in an hour)."""
    return {"flags": [], "ttl_seconds": 3600}


async def telemetry(request: Request) -> Response:
    """The connector's usage telemetry: read and dropped (nothing of it is kept or logged)."""
    await read_body(request, _THRIFT_BODY_LIMIT)
    return Response(b'{"errors":[],"numSuccess":0,"numProtoSuccess":0}', media_type="application/json")


async def thrift(request: Request) -> Response:
    """One Thrift call (binary protocol) to the warehouse in the path, answered by :mod:`..sql_thrift`."""
    from airbricks.workspace.sql_thrift import ThriftService

    body = await read_body(request, _THRIFT_BODY_LIMIT)
    ws, state = workspace(request), request.app.state
    service = getattr(state, "thrift_service", None)
    if service is None:  # made on first use: the thrift package comes with the connector, not the server
        service = state.thrift_service = ThriftService(ws.statements, ws.sql_sessions)
    # Calls wait for statements (up to a few seconds), so they run on the service's own threads, never on the
    # event loop's default executor that other routes share.
    answer = await asyncio.get_running_loop().run_in_executor(service.threads, service.call,
                                                              request.path_params["warehouse_id"], body)
    return Response(answer, media_type="application/x-thrift")


router.routes.append(Route("/telemetry-ext", telemetry, methods=["POST"]))
for _kind in ("warehouses", "endpoints"):
    router.routes.append(Route(f"/sql/1.0/{_kind}/{{warehouse_id}}", thrift, methods=["POST"]))
