"""HTTP for Git folders (``/api/2.0/repos``).

Creating and updating a folder run git (a clone or fetch can take seconds), so they run in a worker thread.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from airbricks.workspace.pagination import page_tokens, paginate
from airbricks.workspace.server.http import Endpoint, page_offset, read_params, workspace
from airbricks.workspace.server.openapi import STR

PAGE = 100
REPOS = "/api/2.0/repos"
REPO = REPOS + "/{repo_id}"


async def create(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    repos = workspace(request).repos
    return await run_in_threadpool(repos.create, p.raw("url"), p.raw("provider"), p.raw("path"))


async def list_repos(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    page = paginate(workspace(request).repos.list(params.str("path_prefix")), page_offset(params), PAGE)
    return {"repos": page.items, **page_tokens(page)}


async def get(request: Request) -> dict[str, Any]:
    return workspace(request).repos.get(request.path_params["repo_id"])


async def update(request: Request) -> dict[str, Any]:
    """Checks out the branch or tag; answers ``{}`` as the service does (``repos/get`` shows the new head)."""
    p = await read_params(request)
    repos = workspace(request).repos
    await run_in_threadpool(repos.update, request.path_params["repo_id"], p.raw("branch"), p.raw("tag"))
    return {}


async def delete(request: Request) -> dict[str, Any]:
    workspace(request).repos.delete(request.path_params["repo_id"])
    return {}


ROUTES: list[Endpoint] = [
    Endpoint("POST", REPOS, create, fields={"url": STR, "provider": STR, "path": STR}, required=("url",)),
    Endpoint("GET", REPOS, list_repos, fields={"path_prefix": STR, "next_page_token": STR}),
    Endpoint("GET", REPO, get, fields={}),
    Endpoint("PATCH", REPO, update, fields={"branch": STR, "tag": STR}),
    Endpoint("DELETE", REPO, delete, fields={}),
]
