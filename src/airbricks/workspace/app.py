"""The ASGI application: routes, authentication, and Databricks-shaped errors for everything.

Authentication and fault injection are plain ASGI middleware (not Starlette's ``BaseHTTPMiddleware``) to
keep the per-request cost low: ``clusters/get`` is polled constantly by every waiting operator.
"""

from __future__ import annotations

import base64
import errno
import hmac
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import DatabricksError

log = logging.getLogger("airbricks.workspace")

#: Paths answered without a token, as on the real service.
PUBLIC_PATHS = frozenset({"/.well-known/databricks-config"})


def _json_error(status: int, error_code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error_code": error_code, "message": message}, status_code=status, headers=headers)


class AuthAndFaults:
    """Checks ``Authorization`` (Bearer PAT, or Basic with the PAT as password) and applies fault rules."""

    def __init__(self, app: Any, workspace: Workspace) -> None:
        self.app = app
        self.workspace = workspace
        self._bearer = f"Bearer {workspace.token}".encode()
        self._token = workspace.token.encode()

    def _authorized(self, header: bytes | None) -> bool:
        if header is None:
            return False
        if hmac.compare_digest(header, self._bearer):
            return True
        if header[:6].lower() == b"basic ":
            try:
                _, _, password = base64.b64decode(header[6:]).partition(b":")
            except ValueError:
                return False
            return hmac.compare_digest(password, self._token)
        return False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if not self._authorized(header):
            response = _json_error(401, "UNAUTHENTICATED",
                                   "Invalid access token. Pass 'Authorization: Bearer <token>' with the workspace's"
                                   " token (printed by 'airbricks serve').")
            await response(scope, receive, send)
            return
        fault = self.workspace.faults.match(scope["method"], scope["path"])
        if fault is not None:
            handled = await fault.apply(scope, receive, send)
            if handled:
                return
        await self.app(scope, receive, send)


def create_app(workspace: Workspace) -> FastAPI:
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
    app.add_middleware(AuthAndFaults, workspace=workspace)
    return app

