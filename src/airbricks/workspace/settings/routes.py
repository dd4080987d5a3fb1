"""HTTP for workspace configuration: ``GET /api/2.0/workspace-conf?keys=a,b`` and ``PATCH`` with a
``{key: value}`` body, as ``w.workspace_conf.get_status``/``set_status`` send them."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from airbricks.workspace.core import Workspace
from airbricks.workspace.identity.routes import caller
from airbricks.workspace.params import Params
from airbricks.workspace.server.http import Endpoint, call, read_params, workspace
from airbricks.workspace.server.openapi import STR

PATH = "/api/2.0/workspace-conf"


def get_status(ws: Workspace, p: Params) -> dict[str, Any]:
    return ws.workspace_conf.get(p.str("keys", required=True))


async def set_status(request: Request) -> None:
    p = await read_params(request)
    workspace(request).workspace_conf.set(caller(request), dict(p.data))


ROUTES: list[Endpoint] = [
    call("GET", PATH, get_status, fields={"keys": STR}, required=("keys",)),
    Endpoint("PATCH", PATH, set_status),
]
