"""The ASGI application: routes, and Databricks-shaped errors for everything (authentication and fault
injection wrap it, in :mod:`airbricks.workspace.server.middleware`)."""

from __future__ import annotations

import errno
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from airbricks.workspace.catalog import routes as catalog_routes
from airbricks.workspace.compute import routes as compute_routes
from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import DatabricksError
from airbricks.workspace.faults import routes as faults_routes
from airbricks.workspace.identity import routes as identity_routes
from airbricks.workspace.jobs import routes as jobs_routes
from airbricks.workspace.permissions import routes as permissions_routes
from airbricks.workspace.permissions.guard import Rule, permitted
from airbricks.workspace.repos import routes as repos_routes
from airbricks.workspace.secrets import routes as secrets_routes
from airbricks.workspace.server.http import Endpoint, mount
from airbricks.workspace.server.middleware import AuthAndFaults
from airbricks.workspace.server.openapi import build_spec
from airbricks.workspace.settings import routes as settings_routes
from airbricks.workspace.sql import routes as sql_routes
from airbricks.workspace.storage import routes as storage_routes
from airbricks.workspace.ui import routes as ui_routes
from airbricks.workspace.ui.app import create_ui

log = logging.getLogger("airbricks.workspace")


def _json_error(status: int, error_code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error_code": error_code, "message": message}, status_code=status, headers=headers)


def error_response(request: Request, exc: Exception) -> JSONResponse:
    """The Databricks error body for an exception a route raised (both dispatch paths use this)."""
    if isinstance(exc, DatabricksError):
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers or None)
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        # A path the file system cannot hold (a name over 255 bytes, a path over 4096) is bad input, not a bug.
        return _json_error(
            400,
            "INVALID_PARAMETER_VALUE",
            "Invalid path: a path component is longer than 255 bytes or the whole path is too long",
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _json_error(500, "INTERNAL_ERROR", f"Internal error: {type(exc).__name__}")


def exact_routes(app: FastAPI) -> dict[str, Route]:
    """The plain routes whose path has no parameters, by path: the middleware dispatches these directly."""
    return {route.path: route for route in app.router.routes if type(route) is Route and "{" not in route.path}


#: Every service's route table, mounted in this order (each service declares its one table in its ``routes.py``).
SERVICES: tuple[list[Endpoint], ...] = (
    compute_routes.ROUTES,
    jobs_routes.ROUTES,
    storage_routes.ROUTES,
    sql_routes.ROUTES,
    faults_routes.ROUTES,
    ui_routes.ROUTES,
    catalog_routes.ROUTES,
    repos_routes.ROUTES,
    identity_routes.ROUTES,
    secrets_routes.ROUTES,
    settings_routes.ROUTES,
    permissions_routes.ROUTES,
)
#: Who may call which row (each service's ``PERMISSIONS`` beside its ``ROUTES``: see
#: :mod:`airbricks.workspace.permissions.guard`), applied to the rows they name when the tables are mounted.
PERMISSIONS: dict[str, Rule] = {
    **compute_routes.PERMISSIONS,
    **faults_routes.PERMISSIONS,
    **jobs_routes.PERMISSIONS,
    **sql_routes.PERMISSIONS,
    **storage_routes.PERMISSIONS,
}


def _server_routes(workspace: Workspace, tables: list[Endpoint]) -> list[Endpoint]:
    """The server's own rows: the client's discovery document and the OpenAPI description of every table."""

    async def well_known(_: Request) -> dict[str, Any]:
        return {
            "oidc_endpoint": f"{workspace.url}/oidc",
            "workspace_id": workspace.workspace_id,
            "account_id": workspace.account_id,
            "cloud": workspace.config.cloud.upper(),
        }

    async def openapi_description(_: Request) -> dict[str, Any]:
        """The OpenAPI description of the endpoints that declare their fields (for fuzzers)."""
        return build_spec(tables)

    return [
        Endpoint("GET", "/.well-known/databricks-config", well_known),
        Endpoint("GET", "/api/2.0/airbricks/openapi.json", openapi_description),
    ]


def create_app(workspace: Workspace) -> AuthAndFaults:
    """The ASGI application: every service's routes inside the authentication and fault-injection layer."""
    app = FastAPI(title="airbricks local Databricks workspace", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.workspace = workspace

    @app.exception_handler(DatabricksError)
    async def databricks_error(request: Request, exc: DatabricksError) -> JSONResponse:
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        return _json_error(400, "INVALID_PARAMETER_VALUE", f"Invalid value for field '{where}': {first.get('msg')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code in (404, 405):
            return _json_error(404, "ENDPOINT_NOT_FOUND", f"No API found for '{request.method} {request.url.path}'")
        return _json_error(exc.status_code, "INVALID_REQUEST", str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return error_response(request, exc)

    tables = permitted([row for table in SERVICES for row in table], PERMISSIONS)
    mount(app.router, [*_server_routes(workspace, tables), *tables])
    ui = create_ui(workspace)
    outer = AuthAndFaults(app, workspace, routes=exact_routes(app), on_error=error_response, ui=ui)
    ui.state.api = outer  # the UI's buttons call the API through this, bearer check included
    return outer
