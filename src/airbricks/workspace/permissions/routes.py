"""HTTP for the Permissions API: ``GET|PUT|PATCH /api/2.0/permissions/{object_type}/{object_id}`` and
``GET .../permissionLevels``, as ``databricks-sdk`` sends them (``w.permissions``, ``w.clusters.get_permissions``,
``w.jobs.set_permissions``, ``w.warehouses.update_permissions``...).

Each served type has its own rows, so the description documents its levels; the catch-all row answers the
types the local workspace has no objects of, and refuses names Databricks does not know.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request

from airbricks.workspace.identity.routes import caller
from airbricks.workspace.permissions.levels import TYPES
from airbricks.workspace.server.http import Endpoint, Schema, read_params, workspace
from airbricks.workspace.server.openapi import STR, array, enum, obj

BASE = "/api/2.0/permissions"


Handler = Callable[[Request], Awaitable[dict[str, Any]]]


def _handlers(object_type: str | None) -> dict[str, Handler]:
    """The four handlers of one type's rows (None: the catch-all, reading the type from the path)."""

    def target(request: Request) -> tuple[str, str]:
        return object_type or request.path_params["object_type"], request.path_params["object_id"]

    async def get(request: Request) -> dict[str, Any]:
        return workspace(request).permissions.get(caller(request), *target(request))

    async def levels(request: Request) -> dict[str, Any]:
        return workspace(request).permissions.levels(caller(request), *target(request))

    async def set_(request: Request) -> dict[str, Any]:
        acl = (await read_params(request)).raw("access_control_list")
        return workspace(request).permissions.set(caller(request), *target(request), acl)

    async def update(request: Request) -> dict[str, Any]:
        acl = (await read_params(request)).raw("access_control_list")
        return workspace(request).permissions.update(caller(request), *target(request), acl)

    for name, handler in (("get", get), ("levels", levels), ("set", set_), ("update", update)):
        handler.__name__ = f"permissions_{name}"
    return {"get": get, "levels": levels, "set": set_, "update": update}


def _acl(levels_: tuple[str, ...]) -> dict[str, Schema]:
    entry = obj(user_name=STR, group_name=STR, service_principal_name=STR, permission_level=enum(*levels_))
    return {"access_control_list": array(entry)}


#: The types the description documents (the fuzzer's share of them: the others answer through the same code).
DOCUMENTED = ("clusters", "jobs", "warehouses", "notebooks")


def _rows(object_type: str | None) -> list[Endpoint]:
    """The four rows of one type (None: the catch-all ``{object_type}``, undocumented)."""
    base = f"{BASE}/{object_type or '{object_type}'}/{{object_id}}"
    documented = object_type in DOCUMENTED
    acl = _acl(TYPES[object_type].names) if object_type and documented else None
    empty: dict[str, Schema] | None = {} if documented else None
    handlers = _handlers(object_type)
    return [
        Endpoint("GET", base, handlers["get"], fields=empty),
        Endpoint("PUT", base, handlers["set"], fields=acl),
        Endpoint("PATCH", base, handlers["update"], fields=acl),
        Endpoint("GET", base + "/permissionLevels", handlers["levels"], fields=empty),
    ]


ROUTES: list[Endpoint] = [*(row for name in TYPES for row in _rows(name)), *_rows(None)]
