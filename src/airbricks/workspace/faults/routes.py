"""HTTP for the local workspace's own admin API: fault rules (``/api/2.0/airbricks/faults``), the volumes that
exist (for the testing kit's reset) and the OpenAPI description used by the fuzz tests. Same bearer auth as
everything else; no other back doors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.server.http import read_params, workspace

router = APIRouter()
FAULTS = "/api/2.0/airbricks/faults"


@router.post(FAULTS, include_in_schema=False)
async def add_faults(request: Request) -> dict[str, Any]:
    """Body: one rule, or ``{"rules": [...]}``, optionally with ``"seed"`` (re-seeds the random source)."""
    params = await read_params(request)
    faults = workspace(request).faults
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


@router.get(FAULTS, include_in_schema=False)
async def list_faults(request: Request) -> dict[str, Any]:
    """Every rule with its hit count, and the injected faults by kind."""
    return workspace(request).faults.describe()


@router.delete(FAULTS, include_in_schema=False)
async def clear_faults(request: Request) -> dict[str, Any]:
    workspace(request).faults.clear()
    return {}


@router.get("/api/2.0/airbricks/volumes", include_in_schema=False)
async def list_volumes(request: Request) -> dict[str, Any]:
    """Every volume that has a folder, as ``/Volumes/<catalog>/<schema>/<volume>``. The Files API cannot list
    above a volume and there is no Unity Catalog API here, so this is how a test reset finds the files a
    notebook wrote into a volume (then lists and deletes them through the Files API)."""
    root = workspace(request).volumes.root
    found = sorted(p.relative_to(root).as_posix() for p in root.glob("*/*/*") if p.is_dir())
    return {"volumes": [f"/Volumes/{volume}" for volume in found]}
