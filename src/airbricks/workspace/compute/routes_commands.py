"""HTTP for the Command Execution API 1.2 (``/api/1.2/contexts/*``, ``/api/1.2/commands/*``).

Every endpoint is one call on :class:`airbricks.workspace.compute.commands.Contexts` with the request's
camel-case fields, so they are declared as a table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from airbricks.workspace.server.http import read_params, versioned, workspace

router = APIRouter()

#: (method, path, Contexts method, request fields, how the answer is shaped: "id" wraps it, "empty" drops it).
ENDPOINTS: tuple[tuple[str, str, str, tuple[str, ...], str], ...] = (
    ("POST", "contexts/create", "create", ("clusterId", "language"), "id"),
    ("GET", "contexts/status", "status", ("clusterId", "contextId"), "as is"),
    ("POST", "contexts/destroy", "destroy", ("clusterId", "contextId"), "empty"),
    ("POST", "commands/execute", "execute", ("clusterId", "contextId", "language", "command"), "id"),
    ("GET", "commands/status", "command_status", ("clusterId", "contextId", "commandId"), "as is"),
    ("POST", "commands/cancel", "cancel", ("clusterId", "contextId", "commandId"), "empty"),
)


def _endpoint(name: str, fields: tuple[str, ...], answer: str) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> dict[str, Any]:
        p = await read_params(request)
        result = getattr(workspace(request).contexts, name)(*(p.raw(f) for f in fields))
        return {"id": result} if answer == "id" else ({} if answer == "empty" else result)

    endpoint.__name__ = name
    return endpoint


for _method, _path, _name, _fields, _answer in ENDPOINTS:
    versioned(router, [_method], _path, ("1.2",))(_endpoint(_name, _fields, _answer))
