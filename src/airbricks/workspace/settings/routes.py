"""HTTP for workspace configuration: ``GET /api/2.0/workspace-conf?keys=a,b`` and ``PATCH`` with a
``{key: value}`` body, as ``w.workspace_conf.get_status``/``set_status`` send them."""

from __future__ import annotations

from typing import Any

from airbricks.workspace.core import Workspace
from airbricks.workspace.params import Params
from airbricks.workspace.server.http import Endpoint, call
from airbricks.workspace.server.openapi import STR

PATH = "/api/2.0/workspace-conf"


def get_status(ws: Workspace, p: Params) -> dict[str, Any]:
    return ws.workspace_conf.get(p.str("keys", required=True))


def set_status(ws: Workspace, p: Params) -> None:
    ws.workspace_conf.set(dict(p.data))


ROUTES: list[Endpoint] = [
    call("GET", PATH, get_status, fields={"keys": STR}, required=("keys",)),
    call("PATCH", PATH, set_status),
]
