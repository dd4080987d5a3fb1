"""HTTP for the local workspace's own admin API: fault rules (``/api/2.0/airbricks/faults``) and the volumes that
exist (for the testing kit's reset). Same bearer auth as everything else, and workspace admins only (a fault rule
answers every principal's requests; the volume list names every volume); no other back doors. Undocumented in
the OpenAPI description: fuzzing them would install faults into the fuzz run itself."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.params import Params
from airbricks.workspace.permissions.guard import Rule, admins
from airbricks.workspace.server.http import Endpoint, call, workspace

FAULTS = "/api/2.0/airbricks/faults"


def add_faults(ws: Workspace, params: Params) -> dict[str, Any]:
    """Body: one rule, or ``{"rules": [...]}``, optionally with ``"seed"`` (re-seeds the random source)."""
    faults = ws.faults
    if "seed" in params:
        faults.set_seed(params.int("seed"))
    if "rules" in params:
        specs: Any = params.list("rules")
    else:
        specs = {k: v for k, v in params.data.items() if k != "seed"}
        if not specs:
            if "seed" in params:
                return {"rule_ids": []}
            raise InvalidParameterValue("Missing required field: rules (a list of fault rules) or one rule")
    return {"rule_ids": faults.add(specs)}


async def list_faults(request: Request) -> dict[str, Any]:
    """Every rule with its hit count, and the injected faults by kind (the body, if any, is not read)."""
    return workspace(request).faults.describe()


async def clear_faults(request: Request) -> None:
    workspace(request).faults.clear()


async def list_volumes(request: Request) -> dict[str, Any]:
    """Every volume that has a folder, as ``/Volumes/<catalog>/<schema>/<volume>``. The Files API cannot list
    above a volume and there is no Unity Catalog API here, so this is how a test reset finds the files a
    notebook wrote into a volume (then lists and deletes them through the Files API)."""
    root = workspace(request).volumes.root
    found = sorted(p.relative_to(root).as_posix() for p in root.glob("*/*/*") if p.is_dir())
    return {"volumes": [f"/Volumes/{volume}" for volume in found]}


ROUTES: list[Endpoint] = [
    call("POST", FAULTS, add_faults),
    Endpoint("GET", FAULTS, list_faults),
    Endpoint("DELETE", FAULTS, clear_faults),
    Endpoint("GET", "/api/2.0/airbricks/volumes", list_volumes),
]

#: Admins only: installing, reading or clearing fault rules, and the volume list.
PERMISSIONS: dict[str, Rule] = {
    f"POST {FAULTS}": admins("add fault rules"),
    f"GET {FAULTS}": admins("list fault rules"),
    f"DELETE {FAULTS}": admins("clear fault rules"),
    "GET /api/2.0/airbricks/volumes": admins("list the volumes"),
}
