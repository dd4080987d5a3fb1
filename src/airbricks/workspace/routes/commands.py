"""HTTP for the Command Execution API 1.2 (``/api/1.2/contexts/*``, ``/api/1.2/commands/*``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from airbricks.workspace.routes import read_params, versioned, workspace

router = APIRouter()
VERSIONS = ("1.2",)


@versioned(router, ["POST"], "contexts/create", VERSIONS)
async def create_context(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    return {"id": workspace(request).contexts.create(p.raw("clusterId"), p.raw("language"))}


@versioned(router, ["GET"], "contexts/status", VERSIONS)
async def context_status(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    return workspace(request).contexts.status(p.raw("clusterId"), p.raw("contextId"))


@versioned(router, ["POST"], "contexts/destroy", VERSIONS)
async def destroy_context(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    workspace(request).contexts.destroy(p.raw("clusterId"), p.raw("contextId"))
    return {}


@versioned(router, ["POST"], "commands/execute", VERSIONS)
async def execute(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    return {"id": workspace(request).contexts.execute(p.raw("clusterId"), p.raw("contextId"), p.raw("language"),
                                                      p.raw("command"))}


@versioned(router, ["GET"], "commands/status", VERSIONS)
async def command_status(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    return workspace(request).contexts.command_status(p.raw("clusterId"), p.raw("contextId"), p.raw("commandId"))


@versioned(router, ["POST"], "commands/cancel", VERSIONS)
async def cancel(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    workspace(request).contexts.cancel(p.raw("clusterId"), p.raw("contextId"), p.raw("commandId"))
    return {}
