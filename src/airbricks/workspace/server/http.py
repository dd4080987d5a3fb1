"""HTTP layer of the local workspace: one module per API group, each exposing ``router``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

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


def versioned(
    router: APIRouter, methods: list[str], suffix: str, versions: Iterable[str]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register one endpoint under several API versions, e.g. ``/api/2.0/clusters/get`` and ``/api/2.1/...``.

    The endpoint is a plain Starlette route (``async def f(request) -> dict | Response``): FastAPI's
    dependency injection and response validation have nothing to do here (parameters are parsed by
    :class:`Params`), and skipping them is most of a hot endpoint's cost.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            return _json_response(await func(request))

        for version in versions:
            router.routes.append(
                Route(f"/api/{version}/{suffix}", endpoint, methods=methods, name=f"{func.__name__}_{version}")
            )
        return func

    return decorate


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
