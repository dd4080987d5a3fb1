"""The ASGI application: routes, and Databricks-shaped errors for everything (authentication and fault
injection wrap it, in :mod:`airbricks.workspace.middleware`)."""

from __future__ import annotations

import errno
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import DatabricksError
from airbricks.workspace.middleware import AuthAndFaults

log = logging.getLogger("airbricks.workspace")

def _json_error(status: int, error_code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error_code": error_code, "message": message}, status_code=status, headers=headers)


def create_app(workspace: Workspace) -> AuthAndFaults:
    """The ASGI application: FastAPI's routes inside the authentication and fault-injection layer."""
    from airbricks.workspace.routes import admin, clusters, dbfs, files, jobs, objects

    app = FastAPI(title="airbricks local Databricks workspace", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.workspace = workspace

    @app.exception_handler(DatabricksError)
    async def databricks_error(_: Request, exc: DatabricksError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers or None)

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

    @app.exception_handler(OSError)
    async def os_error(request: Request, exc: OSError) -> JSONResponse:
        """A path the file system cannot hold (a name over 255 bytes, a path over 4096) is bad input, not a bug."""
        if exc.errno == errno.ENAMETOOLONG:
            return _json_error(400, "INVALID_PARAMETER_VALUE",
                               "Invalid path: a path component is longer than 255 bytes or the whole path is too long")
        return await unexpected(request, exc)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - a bug
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _json_error(500, "INTERNAL_ERROR", f"Internal error: {type(exc).__name__}")

    @app.get("/.well-known/databricks-config", include_in_schema=False)
    async def well_known() -> dict[str, Any]:
        return {"oidc_endpoint": f"{workspace.url}/oidc", "workspace_id": workspace.workspace_id}

    for module in (clusters, jobs, dbfs, files, objects, admin):
        app.include_router(module.router)
    return AuthAndFaults(app, workspace)

