"""The UI's plumbing: templates, the signed-in check every page goes through, and page responses.

A page handler is ``async def handler(request, ws) -> Page``; :func:`page` wraps it so a browser without a
session gets the sign-in page (HTTP 401, no data) instead of the handler's answer, and every answer carries
headers that keep the pages to themselves (a CSP allowing only this server's script, no framing, no caching).
Pages show what the session's principal may see (:func:`viewer`, :func:`visible`, :func:`require`: the checks
the API makes, from :mod:`airbricks.workspace.permissions`).
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from airbricks.workspace.errors import DatabricksError
from airbricks.workspace.identity.principals import Principal
from airbricks.workspace.ui.sessions import COOKIE, Session

log = logging.getLogger("airbricks.workspace.ui")

TEMPLATES = Path(__file__).parent / "templates"
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def _ms_time(value: Any) -> str:
    """Epoch milliseconds as ``2026-12-02 06:45:40 UTC`` (0 or None: an empty cell)."""
    if not isinstance(value, (int, float)) or not value:
        return ""
    return datetime.datetime.fromtimestamp(int(value) / 1000, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(ms: Any) -> str:
    """Milliseconds as ``1h 02m``, ``3m 04s``, ``5.2 s`` or ``310 ms``."""
    if not isinstance(ms, (int, float)):  # absent (the API leaves a zero run_duration out) or not yet known
        return ""
    ms = int(ms)
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True, auto_reload=False
)
ENV.filters.update(ms_time=_ms_time, duration=_duration, pretty_json=_pretty_json)


class Page(NamedTuple):
    """What a handler answers: a template and its values (or any ready response)."""

    template: str
    values: dict[str, Any]
    status: int = 200


Handler = Callable[[Request, Any], Awaitable["Page | Response"]]


def session_of(request: Request) -> Session | None:
    return request.app.state.workspace.ui_sessions.get(request.cookies.get(COOKIE))


def viewer(request: Request) -> Principal:
    """Who the page is for (set by :func:`page` from the session's token)."""
    return request.state.viewer


def visible(request: Request, object_type: str, items: list[dict[str, Any]], id_field: str) -> list[dict[str, Any]]:
    """The items of a list the viewer may see (any level on each), as the API's list calls show them."""
    who = viewer(request)
    if who.is_admin:
        return items
    allowed = request.app.state.workspace.permissions.visible(who, object_type, [str(i[id_field]) for i in items])
    return [item for item in items if str(item[id_field]) in allowed]


def require(request: Request, object_type: str, object_id: str, level: str, *, verify: bool = True) -> None:
    """Refuse the page (the API's PERMISSION_DENIED) unless the viewer holds ``level`` on the object."""
    request.app.state.workspace.permissions.check(viewer(request), object_type, object_id, level, verify=verify)


def render(
    request: Request,
    template: str,
    values: dict[str, Any],
    *,
    status: int = 200,
    session: Session | None = None,
    started: float | None = None,
) -> HTMLResponse:
    """The page, with the session's CSRF token for its scripts and how long the server took (Server-Timing)."""
    ws = request.app.state.workspace
    body = ENV.get_template(template).render(
        {
            "nav": "",
            "active": False,
            **values,
            "csrf": session.csrf if session else "",
            "signed_in": session is not None,
            "viewer": getattr(request.state, "viewer", None),
            "workspace_id": ws.workspace_id,
        }
    )
    headers = dict(SECURITY_HEADERS)
    if started is not None:
        headers["server-timing"] = f"render;dur={(time.perf_counter() - started) * 1000:.2f}"
    return HTMLResponse(body, status_code=status, headers=headers)


def sign_in_page(request: Request, message: str = "", *, status: int = 401) -> HTMLResponse:
    return render(
        request,
        "signin.html",
        {"message": message, "next": _local_next(request.url.path, request.url.query)},
        status=status,
    )


def _local_next(path: str, query: str) -> str:
    return path + (f"?{query}" if query else "")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this server only (never ``//evil`` or ``https://...``)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def page(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A signed-in page: the sign-in page for anyone else; a Databricks error as an error page (never a 500)."""

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        session = session_of(request)
        ws = request.app.state.workspace
        principal = ws.identity.authenticate(session.token) if session is not None else None
        if session is None or principal is None:  # no session, or its principal (or token) is gone
            return sign_in_page(request)
        request.state.viewer = principal
        try:
            answer = await handler(request, ws)
        except DatabricksError as err:
            status = 404 if "does not exist" in err.message or err.status_code == 404 else err.status_code
            answer = Page("error.html", {"error_code": err.error_code, "message": err.message}, status)
        except Exception as exc:
            log.exception("UI page %s failed", request.url.path)
            answer = Page(
                "error.html",
                {"error_code": "INTERNAL_ERROR", "message": f"This page failed: {type(exc).__name__}"},
                500,
            )
        if isinstance(answer, Response):
            for key, value in SECURITY_HEADERS.items():
                answer.headers.setdefault(key, value)
            return answer
        return render(request, answer.template, answer.values, status=answer.status, session=session, started=started)

    return endpoint
