"""HTTP for saved SQL queries (``/api/2.0/sql/queries``) onto :class:`airbricks.workspace.sql.queries.Queries`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from airbricks.workspace.server.http import page_window, read_params, versioned, workspace

router = APIRouter()
V2 = ("2.0",)


@versioned(router, ["POST"], "sql/queries", V2)
async def create(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    return workspace(request).queries.create(params.raw("query"))


@versioned(router, ["GET"], "sql/queries", V2)
async def list_(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    offset, limit = page_window(params, default_limit=20, max_limit=100, size_field="page_size")
    page = workspace(request).queries.list(offset=offset, limit=limit)
    answer: dict[str, Any] = {"results": page.items}
    if page.next_offset is not None:
        answer["next_page_token"] = str(page.next_offset)
    return answer


@versioned(router, ["GET"], "sql/queries/{query_id}", V2)
async def get(request: Request) -> dict[str, Any]:
    return workspace(request).queries.get(request.path_params["query_id"])


@versioned(router, ["PATCH"], "sql/queries/{query_id}", V2)
async def update(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    return workspace(request).queries.update(
        request.path_params["query_id"], params.raw("query"), params.raw("update_mask")
    )


@versioned(router, ["DELETE"], "sql/queries/{query_id}", V2)
async def delete(request: Request) -> dict[str, Any]:
    workspace(request).queries.delete(request.path_params["query_id"])
    return {}
