"""HTTP layer of the local workspace: one module per API group, each exposing ``router``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, Request

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import MalformedRequest
from airbricks.workspace.params import Params


def workspace(request: Request) -> Workspace:
    return request.app.state.workspace


async def read_params(request: Request) -> Params:
    """Query string and JSON body merged (the body wins): GETs arrive either way depending on the client."""
    data: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if body.strip():
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise MalformedRequest("Invalid JSON given in the body of the request - failed to parse JSON") from None
        if not isinstance(parsed, dict):
            raise MalformedRequest("Invalid JSON given in the body of the request - expected a map")
        data.update(parsed)
    return Params(data)


def versioned(
    router: APIRouter, methods: list[str], suffix: str, versions: Iterable[str]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register one endpoint under several API versions, e.g. ``/api/2.0/clusters/get`` and ``/api/2.1/...``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for version in versions:
            router.add_api_route(f"/api/{version}/{suffix}", func, methods=methods, include_in_schema=True,
                                 name=f"{func.__name__}_{version}")
        return func

    return decorate
