"""The UI's ASGI application: sign-in, the home page that routes Databricks' ``#fragment`` links, the pages.

Databricks links put the page in the fragment (``/?o=<workspace>#job/1/run/2``,
``/#setting/clusters/<id>/configuration``), which never reaches a server: the home page's script maps the
fragment to a server path (``/ui/runs/2``, ``/ui/clusters/<id>``) and goes there. A browser without a session
gets the sign-in page on every path, and the sign-in page keeps the fragment, so the link still lands after
signing in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from airbricks.workspace.ui import actions, browse_pages, catalog_pages, compute_pages, run_pages
from airbricks.workspace.ui.sessions import COOKIE, Session, Sessions
from airbricks.workspace.ui.web import (
    SECURITY_HEADERS,
    Page,
    page,
    render,
    safe_next,
    session_of,
    sign_in_page,
    visible,
)

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css"}


def _signed_in(request: Request, session: Session, target: str) -> Response:
    response = RedirectResponse(safe_next(target), status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(
        COOKIE, session.sid, httponly=True, samesite="strict", path="/", secure=request.url.scheme == "https"
    )
    return response


async def login(request: Request) -> Response:
    """``GET /login?token=...`` (the printed link, once) or ``POST /login`` (the form, with the workspace token)."""
    sessions: Sessions = request.app.state.workspace.ui_sessions
    if request.method == "GET":
        token = request.query_params.get("token")
        if not token:
            return sign_in_page(request, status=200)
        session = sessions.redeem(token)
        if session is None:
            return sign_in_page(
                request,
                "This sign-in link is unknown or was used already (each link signs in one "
                "browser once). Paste the workspace token below, or print a new link.",
            )
        return _signed_in(request, session, request.query_params.get("next", "/"))
    if not actions.same_origin(request):
        return sign_in_page(request, "Sign-in refused: the form was not sent from this server's page.", status=403)
    form = await request.form()
    session = sessions.sign_in_with_api_token(str(form.get("token", "")))
    if session is None:
        return sign_in_page(request, "That is not the workspace token.")
    return _signed_in(request, session, str(form.get("next", "/")))


async def logout(request: Request) -> Response:
    session = session_of(request)
    form = await request.form()
    if session is not None and Sessions.csrf_ok(session, str(form.get("csrf", ""))):
        request.app.state.workspace.ui_sessions.close(session.sid)
    response = RedirectResponse("/login", status_code=303, headers=SECURITY_HEADERS)
    response.delete_cookie(COOKIE, path="/")
    return response


@page
async def home(request: Request, ws: Any) -> Page:
    runs = ws.runs.list(limit=10)
    return Page(
        "home.html",
        {
            "runs": visible(request, "jobs", runs.items, "job_id"),
            "clusters": visible(request, "clusters", ws.clusters.list(), "cluster_id"),
            "jobs": visible(request, "jobs", ws.jobs.list(limit=10).items, "job_id"),
            "warehouses": visible(request, "warehouses", ws.warehouses.list(), "id"),
        },
    )


async def static(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in STATIC_FILES:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name], headers={"cache-control": "no-cache"})


async def favicon(_: Request) -> Response:
    return Response(status_code=204)


async def not_found(request: Request, _: Exception) -> Response:
    if session_of(request) is None:
        return sign_in_page(request)
    return render(
        request,
        "error.html",
        {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No page at {request.url.path}"},
        status=404,
        session=session_of(request),
    )


def create_ui(workspace: Any) -> Starlette:
    """The UI application of one workspace; ``state.api`` is set by the caller to the API application."""
    routes = [
        Route("/", home),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/favicon.ico", favicon),
        Route("/ui/static/{name}", static),
        Route("/ui/api/{path:path}", actions.forward, methods=["POST"]),
        *run_pages.routes,
        *compute_pages.routes,
        *browse_pages.routes,
        *catalog_pages.routes,
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.state.workspace = workspace
    return app
