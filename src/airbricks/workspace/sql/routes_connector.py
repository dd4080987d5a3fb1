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

from airbricks.workspace.errors import DatabricksError, NotImplementedOnLocal
from airbricks.workspace.server.http import read_body, read_params, versioned, workspace

router = APIRouter()
V2 = ("2.0",)
#: Thrift messages are small (a statement, a fetch request); a larger body is not a client of ours.
_THRIFT_BODY_LIMIT = 16 * 1024 * 1024
#: The header databricks-sql-connector reads an HTTP error's message from on its Thrift path.
THRIFT_ERROR_HEADER = "x-thriftserver-error-message"


@versioned(router, ["POST"], "sql/sessions", V2)
async def open_session(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    session = workspace(request).sql_sessions.open(
        params.str("warehouse_id", required=True) or "",
        catalog=params.str("catalog"),
        schema=params.str("schema"),
        configuration=params.raw("session_confs"),
    )
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


def _for_the_connector(exc: DatabricksError) -> DatabricksError:
    """The connector shows an HTTP error's message only from this header (as the real service sends it)."""
    exc.headers = {
        **exc.headers,
        THRIFT_ERROR_HEADER: " ".join(exc.message.split())[:2000].encode("latin-1", "replace").decode("latin-1"),
    }
    return exc


async def thrift(request: Request) -> Response:
    """One Thrift call (binary protocol) to the warehouse in the path, answered by :mod:`..sql_thrift`."""
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


router.routes.append(Route("/telemetry-ext", telemetry, methods=["POST"]))
router.routes.append(Route("/sql/protocolv1/o/{org_id}/{cluster_id}", cluster_thrift, methods=["POST"]))
for _kind in ("warehouses", "endpoints"):
    router.routes.append(Route(f"/sql/1.0/{_kind}/{{warehouse_id}}", thrift, methods=["POST"]))
