"""The UI's buttons: each one is a real API call, made by the server on the signed-in browser's behalf.

``POST /ui/api/<version>/<endpoint>`` with the session cookie and the page's CSRF token (header
``X-CSRF-Token``) is dispatched, in process, to the same ASGI application a client reaches - bearer check,
fault rules, routes, permission checks, validation and errors included - with the session's token added here
(its principal's: see :mod:`.sessions`), so no page ever holds it and a button does only what that principal
may. The answer (status and JSON body) goes back to the page as the API gave it: a refused cancel or an
endpoint the workspace does not have yet shows the API's own error. Only the endpoints the pages' buttons use
are forwarded.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from airbricks.workspace.ui.sessions import Sessions
from airbricks.workspace.ui.web import SECURITY_HEADERS, session_of

#: The endpoints behind the UI's buttons (version, then path): nothing else is forwarded.
ALLOWED = re.compile(
    r"^2\.[012]/(jobs/runs/(cancel|repair)|clusters/(start|delete|permanent-delete|restart)"
    r"|sql/warehouses/[A-Za-z0-9_-]+/(start|stop))$"
)
MAX_BODY = 64 * 1024


def _refuse(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": message}, status_code=status, headers=SECURITY_HEADERS)


def same_origin(request: Request) -> bool:
    """A browser's write comes from a page of this server (``Origin``, when sent, names this host)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def call_api(api: Any, method: str, path: str, body: bytes, token: str) -> tuple[int, bytes]:
    """One request through the API application in process; (status, body) of its answer."""
    headers = [
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"host", b"airbricks-ui"),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
    }
    sent = False
    answer: dict[str, Any] = {"status": 500, "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await api(scope, receive, send)
    return answer["status"], answer["body"]


async def forward(request: Request) -> Response:
    """``POST /ui/api/{path}``: the button's API call (see the module docstring)."""
    session = session_of(request)
    if session is None:
        return _refuse(
            401, "UNAUTHENTICATED", "Sign in to the workspace UI first (open the link 'airbricks serve' printed)."
        )
    if not Sessions.csrf_ok(session, request.headers.get("x-csrf-token")) or not same_origin(request):
        return _refuse(403, "PERMISSION_DENIED", "Missing or wrong CSRF token: reload the page and try again.")
    path = request.path_params["path"]
    if not ALLOWED.match(path):
        return _refuse(
            404,
            "ENDPOINT_NOT_FOUND",
            f"The UI does not forward '{path}': its buttons call runs "
            "cancel/repair, clusters start/delete/permanent-delete/restart and"
            " warehouses start/stop only.",
        )
    body = await request.body()
    if len(body) > MAX_BODY:
        return _refuse(400, "INVALID_PARAMETER_VALUE", f"The request body exceeds {MAX_BODY} bytes.")
    try:
        json.loads(body or b"{}")
    except ValueError:
        return _refuse(400, "MALFORMED_REQUEST", "The request body is not JSON.")
    try:
        status, payload = await call_api(request.app.state.api, "POST", f"/api/{path}", body, session.token)
    except ConnectionAbortedError as exc:  # a fault rule's ``drop`` has no connection to drop here
        return _refuse(503, "TEMPORARILY_UNAVAILABLE", f"The API call was dropped: {exc}")
    return Response(payload or b"{}", status_code=status, media_type="application/json", headers=SECURITY_HEADERS)
