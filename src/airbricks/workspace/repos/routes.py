"""HTTP for Git folders (``/api/2.0/repos``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from airbricks.workspace.pagination import paginate
from airbricks.workspace.server.http import page_offset, read_params, workspace

router = APIRouter()
PAGE = 100


@router.post("/api/2.0/repos")
def create(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return workspace(request).repos.create(body.get("url"), body.get("provider"), body.get("path"))


@router.get("/api/2.0/repos")
async def list_repos(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    page = paginate(workspace(request).repos.list(params.str("path_prefix")), page_offset(params), PAGE)
    out: dict[str, Any] = {"repos": page.items}
    if page.next_offset is not None:
        out["next_page_token"] = str(page.next_offset)
    return out


@router.get("/api/2.0/repos/{repo_id}")
async def get(request: Request, repo_id: str) -> dict[str, Any]:
    return workspace(request).repos.get(repo_id)


@router.patch("/api/2.0/repos/{repo_id}")
def update(request: Request, repo_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Checks out the branch or tag; answers ``{}`` as the service does (``repos/get`` shows the new head)."""
    workspace(request).repos.update(repo_id, body.get("branch"), body.get("tag"))
    return {}


@router.delete("/api/2.0/repos/{repo_id}")
async def delete(request: Request, repo_id: str) -> dict[str, Any]:
    workspace(request).repos.delete(repo_id)
    return {}
