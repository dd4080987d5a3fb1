"""HTTP for the Libraries API (``/api/2.0/libraries/*``) onto :class:`airbricks.workspace.compute.libraries.Libraries`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from airbricks.workspace.server.http import read_params, versioned, workspace

router = APIRouter()
VERSIONS = ("2.0",)


@versioned(router, ["POST"], "libraries/install", VERSIONS)
async def install(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    workspace(request).libraries.install(params.str("cluster_id", required=True), params.raw("libraries"))
    return {}


@versioned(router, ["POST"], "libraries/uninstall", VERSIONS)
async def uninstall(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    workspace(request).libraries.uninstall(params.str("cluster_id", required=True), params.raw("libraries"))
    return {}


@versioned(router, ["GET"], "libraries/cluster-status", VERSIONS)
async def cluster_status(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    return workspace(request).libraries.cluster_status(params.str("cluster_id", required=True))


@versioned(router, ["GET"], "libraries/all-cluster-statuses", VERSIONS)
async def all_cluster_statuses(request: Request) -> dict[str, Any]:
    return workspace(request).libraries.all_statuses()
