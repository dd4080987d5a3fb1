"""The route tables' plumbing: reading parameters and bodies, one row type, mounting a table, answers.

Each service package declares its endpoints in one table (``ROUTES`` in its ``routes.py``: a list of
:class:`Endpoint`); :mod:`.app` mounts every service's table from one list, and :mod:`.openapi` describes the
same rows, so a path, a method and a field are written once.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.routing import Route

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import DatabricksError, InvalidParameterValue, MalformedRequest
from airbricks.workspace.params import Params


def workspace(request: Request) -> Workspace:
    return request.app.state.workspace


#: Bodies larger than a refused limit are still read (and dropped) up to this size, so the client gets the
#: error instead of a broken pipe; beyond it the connection is answered and closed early.
_DRAIN_LIMIT = 64 * 1024 * 1024


async def read_body(
    request: Request, limit: int | None = None, too_large: Callable[[], DatabricksError] | None = None
) -> bytes:
    """The request body, refusing (with ``too_large()``) anything over ``limit`` bytes without buffering it."""
    if limit is None:
        return await request.body()
    error = too_large() if too_large else MalformedRequest(f"The request body exceeds the limit of {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > _DRAIN_LIMIT:
        raise error
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif size > _DRAIN_LIMIT:
            break
    if size > limit:
        raise error
    return b"".join(chunks)


async def read_params(
    request: Request, limit: int | None = None, too_large: Callable[[], DatabricksError] | None = None
) -> Params:
    """Query string and JSON body merged (the body wins): GETs arrive either way depending on the client.

    ``limit``/``too_large`` bound the body (e.g. DBFS ``put`` with inline contents) with the API's own error.
    """
    data: dict[str, Any] = dict(request.query_params)
    body = await read_body(request, limit, too_large)
    if body.strip():
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise MalformedRequest("Invalid JSON given in the body of the request - failed to parse JSON") from None
        if not isinstance(parsed, dict):
            raise MalformedRequest("Invalid JSON given in the body of the request - expected a map")
        data.update(parsed)
    return Params(data)


def _json_response(result: Any) -> Response:
    """A route's result as the answer: a Response as is, ``None`` as ``{}``, anything else as compact JSON."""
    if isinstance(result, Response):
        return result
    body = json.dumps({} if result is None else result, separators=(",", ":"))
    return Response(body, media_type="application/json")


#: A request field's JSON schema, as the OpenAPI description shows it (see :mod:`.openapi`'s shorthands).
Schema = dict[str, Any]
#: What most endpoints are: the workspace and the request's parameters in, a JSON-able result (or None) out.
Call = Callable[[Workspace, Params], Any]
#: An endpoint that needs the request itself (raw bodies, path parameters, headers, its principal).
Handler = Callable[[Request], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    """One row of a service's route table: ``method path -> handler``, and the request fields it documents.

    ``path`` may hold ``{version}``, registered once per entry of ``versions`` (``/api/2.0/clusters/get`` and
    ``/api/2.1/...``). Every endpoint is a plain Starlette route: FastAPI's dependency injection and response
    validation have nothing to do here (parameters are parsed by :class:`Params`), and skipping them is most of
    a hot endpoint's cost; like every Starlette route, a GET row answers HEAD too, and :func:`call` rows read
    their parameters from the query string and a JSON body alike. ``fields`` (None: undocumented) feed the
    generated OpenAPI description, so a field is declared once, beside its route; ``body`` says how they travel
    (query string for GET, JSON or raw bytes).
    """

    method: str
    path: str
    handler: Handler
    versions: tuple[str, ...] = ()
    fields: Mapping[str, Schema] | None = None
    required: tuple[str, ...] = ()
    body: Literal["json", "binary", "none"] = "json"
    #: The version the OpenAPI description shows (default: the last of ``versions``).
    doc_version: str | None = None
    #: The path the OpenAPI description shows, when it is not the served pattern: e.g. the Files API serves
    #: ``/api/2.0/fs/files{file_path:path}`` and documents the volume paths it accepts, with path parameters.
    doc_path: str | None = None

    def paths(self) -> list[str]:
        """Every concrete path this row serves."""
        if "{version}" not in self.path:
            return [self.path]
        return [self.path.replace("{version}", version) for version in self.versions]

    def documented_path(self) -> str:
        version = self.doc_version or (self.versions[-1] if self.versions else "")
        return (self.doc_path or self.path).replace("{version}", version)


def call(
    method: str,
    path: str,
    fn: Call,
    *,
    versions: tuple[str, ...] = (),
    fields: Mapping[str, Schema] | None = None,
    required: tuple[str, ...] = (),
    doc_version: str | None = None,
    limit: int | None = None,
    too_large: Callable[[], DatabricksError] | None = None,
) -> Endpoint:
    """A row whose handler reads the parameters (query string and JSON body) and calls ``fn(workspace, params)``.

    ``limit``/``too_large`` bound the body with the API's own error (see :func:`read_params`).
    """

    async def handler(request: Request) -> Any:
        return fn(workspace(request), await read_params(request, limit, too_large))

    handler.__name__ = getattr(fn, "__name__", "endpoint")
    return Endpoint(method, path, handler, versions, fields, required, doc_version=doc_version)


def mount(router: APIRouter, table: Iterable[Endpoint]) -> None:
    """Register a service's table on ``router``: one Starlette route per concrete path."""
    for row in table:

        async def endpoint(request: Request, handler: Handler = row.handler) -> Response:
            return _json_response(await handler(request))

        name = getattr(row.handler, "__name__", "endpoint")
        for path in row.paths():
            router.routes.append(Route(path, endpoint, methods=[row.method], name=f"{name} {path}"))


def page_offset(params: Params) -> int:
    """Where a page starts: the ``page_token`` a previous page handed out (an offset), else ``offset``."""
    token = params.str("page_token")
    if token:
        if not token.isdigit():
            raise InvalidParameterValue(f"Invalid page_token '{token[:50]}': use next_page_token from the last page")
        return int(token)
    return params.int("offset", default=0, minimum=0) or 0


def page_window(params: Params, *, default_limit: int, max_limit: int, size_field: str = "limit") -> tuple[int, int]:
    """``(offset, limit)`` of a list call, from ``page_token``/``offset`` and ``limit`` (or ``page_size``)."""
    limit = params.int(size_field, default=default_limit, minimum=1, maximum=max_limit) or default_limit
    return page_offset(params), limit
