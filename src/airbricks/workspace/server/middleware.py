"""The outermost ASGI layer: authentication, and fault injection applied to the connection itself.

Plain ASGI (not Starlette's ``BaseHTTPMiddleware``) to keep the per-request cost low: ``clusters/get`` is
polled constantly by every waiting operator. It wraps the FastAPI application from outside, so the ``send``
it receives is the server's own: dropping a connection (a fault rule's ``drop``) reaches the transport in
one step. ASGI has no way to say "reset this connection", so that one step is uvicorn-specific.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import socket
import struct
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airbricks.workspace.core import Workspace
from airbricks.workspace.faults.rules import Rule
from airbricks.workspace.ui import is_ui_path

#: Paths answered without a token, as on the real service.
PUBLIC_PATHS = frozenset({"/.well-known/databricks-config"})
#: Path prefixes answered without a token: result links carry a secret of their own, as presigned URLs do.
PUBLIC_PREFIXES = ("/airbricks/sql-results/",)
UNAUTHENTICATED = (
    "Invalid access token. Pass 'Authorization: Bearer <token>' with the workspace's token (printed"
    " by 'airbricks serve')."
)


async def send_json(send: Any, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    """Answer a request with a JSON body, straight through ASGI."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


async def drop_connection(send: Any) -> None:
    """Reset the TCP connection (SO_LINGER 0, then abort): the client sees a reset or an empty reply."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("airbricks fault: dropping the connection needs uvicorn (no transport found)")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()
    for _ in range(3):  # let connection_lost run so the server does not try to answer a closed socket
        await asyncio.sleep(0)


async def read_body(receive: Any, limit: int = 65536) -> bytes:
    """The request body (up to ``limit`` bytes), for a request a fault answers without the app reading it."""
    body = b""
    while True:
        message = await receive()
        if message.get("type") != "http.request":
            return body
        body += message.get("body", b"")[: max(0, limit - len(body))]
        if not message.get("more_body"):
            return body


async def inject(rule: Rule, path: str, send: Any) -> bool:
    """Delay, then answer with the rule's error or drop; False lets the request through (latency only)."""
    if rule.latency_ms:
        await asyncio.sleep(rule.latency_ms / 1000)
    if rule.drop:
        await drop_connection(send)
        return True
    if rule.status is not None:
        err = rule.error(path)
        await send_json(send, err.status_code, err.body(), err.headers)
        return True
    return False


class AuthAndFaults:
    """Checks ``Authorization`` (Bearer token, or Basic with it as password: the workspace's token, one minted
    for a principal, or a run's - see :mod:`airbricks.workspace.identity.principals`), applies fault rules, then
    dispatches the request.

    :param routes: plain routes by exact path, called directly (a dictionary lookup instead of matching the
        path against every route's pattern: most of the cost of ``clusters/get`` or ``dbfs/put``).
    :param on_error: turns what such a route raises into the Databricks error answer.
    :param ui: the web UI's application, answering :func:`~airbricks.workspace.ui.is_ui_path` paths.
    """

    def __init__(
        self,
        app: Any,
        workspace: Workspace,
        *,
        routes: dict[str, Route] | None = None,
        on_error: Callable[[Request, Exception], Response] | None = None,
        ui: Any = None,
    ) -> None:
        self.app = app
        #: The web UI's application: its paths (outside ``/api``) check a session cookie of their own.
        self.ui = ui
        self.routes = routes or {}
        self.on_error = on_error
        self.faults = workspace.faults
        self.identity = workspace.identity
        self._bearer = f"Bearer {workspace.token}".encode()

    def _principal(self, header: bytes | None) -> Any:
        """Who the ``Authorization`` header names (the workspace's token first: the hot path), or None."""
        if header is None:
            return None
        if hmac.compare_digest(header, self._bearer):
            return self.identity.me
        if header[:7].lower() == b"bearer ":
            token = header[7:]
        elif header[:6].lower() == b"basic ":
            try:
                _, _, token = base64.b64decode(header[6:]).partition(b":")
            except ValueError:
                return None
        else:
            return None
        try:
            return self.identity.authenticate(token.decode().strip())
        except UnicodeDecodeError:
            return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.ui is not None and scope["type"] == "http" and is_ui_path(scope["path"]):
            await self.ui(scope, receive, send)
            return
        if scope["type"] != "http" or scope["path"] in PUBLIC_PATHS or scope["path"].startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        principal = self._principal(header)
        if principal is None:
            # The SQL connector's Thrift path shows an HTTP error's reason from this header only (as the real
            # service sends it); every other client reads the body.
            await send_json(
                send,
                401,
                {"error_code": "UNAUTHENTICATED", "message": UNAUTHENTICATED},
                {"x-databricks-reason-phrase": UNAUTHENTICATED},
            )
            return
        scope.setdefault("state", {})["principal"] = principal  # request.state.principal in the routes
        rule = self.faults.match(scope["method"], scope["path"])
        if rule is not None and (rule.drop or rule.status is not None):  # answered here: the body is ours to read
            self.faults.record_hit(
                rule, scope["method"], scope["path"], scope.get("query_string", b""), await read_body(receive)
            )
        if rule is not None and await inject(rule, scope["path"], send):
            return
        route = self.routes.get(scope["path"])
        if route is None or scope["method"] not in (route.methods or ()) or self.on_error is None:
            await self.app(scope, receive, send)  # FastAPI: path parameters, 404/405, everything else
            return
        scope["app"] = self.app
        request = Request(scope, receive, send)
        try:
            response = await route.endpoint(request)
        except Exception as exc:  # every failure becomes a Databricks error answer, never a dropped connection
            response = self.on_error(request, exc)
        await response(scope, receive, send)
