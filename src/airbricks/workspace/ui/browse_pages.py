"""Browsing pages: jobs (list, job with its tasks and runs), the workspace tree (a notebook as source), and
the DBFS and Volumes browsers with downloads.

Paths come from the URL and go through the models' own normalization (nothing escapes the data dir; a bad
path is the API's error, shown as an error page). Downloads are attachments served with ``nosniff``, so a
landed HTML file is saved, never rendered as a page of this origin.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from airbricks.workspace.catalog.unity_catalog import SYSTEM_SCHEMA
from airbricks.workspace.errors import DatabricksError, InvalidParameterValue
from airbricks.workspace.jobs.triggers import summary
from airbricks.workspace.ui.run_pages import state_class, state_label
from airbricks.workspace.ui.web import Page, page, require, viewer, visible

#: Bytes of a file shown inline on its page (the whole file is the download).
PREVIEW_BYTES = 64 * 1024


@page
async def jobs_list(request: Request, ws: Any) -> Page:
    jobs = visible(request, "jobs", ws.jobs.list(limit=1000).items, "job_id")
    return Page("jobs.html", {"nav": "jobs", "jobs": jobs})


@page
async def job_page(request: Request, ws: Any) -> Page:
    job_id = request.path_params["job_id"]
    require(request, "jobs", job_id, "CAN_VIEW", verify=False)
    runs = ws.runs.list(job_id=int(job_id) if job_id.isdigit() else -1, limit=50).items
    try:
        job: dict[str, Any] | None = ws.jobs.get(job_id)
    except DatabricksError:
        if not runs:
            raise
        job = None  # a one-time run's job id (runs/submit): no job settings, only its run
    trigger = summary(job["settings"], ws.scheduler.next_run_ms(job["job_id"])) if job else None
    return Page(
        "job.html",
        {
            "nav": "jobs",
            "job_id": job_id,
            "job": job,
            "trigger": trigger,
            "runs": runs,
            "state_class": state_class,
            "state_label": state_label,
        },
    )


def _crumbs(path: str, base: str) -> list[tuple[str, str]]:
    """(name, link) of each folder on the way to ``path``."""
    parts = [p for p in path.split("/") if p]
    return [(name, f"{base}/{'/'.join(parts[: i + 1])}") for i, name in enumerate(parts)]


def _preview(data: bytes) -> tuple[str, bool]:
    text = data[:PREVIEW_BYTES].decode("utf-8", "replace")
    return text, len(data) > PREVIEW_BYTES


@page
async def workspace_page(request: Request, ws: Any) -> Page:
    path = "/" + request.path_params.get("path", "").strip("/")
    ws.permissions.check_path(viewer(request), path, "CAN_READ")
    info = ws.objects.get_status(path)
    values: dict[str, Any] = {"nav": "workspace", "path": path, "info": info, "crumbs": _crumbs(path, "/ui/workspace")}
    if info["object_type"] in ("DIRECTORY", "REPO"):
        entries = [e for e in ws.objects.list(path) if ws.permissions.can_path(viewer(request), e["path"], "CAN_READ")]
        values["entries"] = sorted(entries, key=lambda e: (e["object_type"] != "DIRECTORY", e["path"]))
    else:
        values["source"], values["truncated"] = _preview(ws.objects.export(path, "SOURCE").content)
    return Page("workspace.html", values)


def _download(local: Any, name: str) -> Response:
    return FileResponse(
        local,
        media_type="application/octet-stream",
        filename=name,
        headers={"x-content-type-options": "nosniff", "cache-control": "no-store"},
    )


@page
async def dbfs_page(request: Request, ws: Any) -> Page | Response:
    path = "/" + request.path_params.get("path", "").strip("/")
    info = ws.dbfs.get_status(path)
    if not info["is_dir"] and request.query_params.get("download"):
        return _download(ws.dbfs.local_path(info["path"]), info["path"].rsplit("/", 1)[-1])
    values: dict[str, Any] = {
        "nav": "dbfs",
        "path": info["path"],
        "info": info,
        "crumbs": _crumbs(info["path"], "/ui/dbfs"),
    }
    if info["is_dir"]:
        values["entries"] = sorted(ws.dbfs.list(path), key=lambda e: (not e["is_dir"], e["path"]))
    else:
        with open(ws.dbfs.local_path(info["path"]), "rb") as fh:
            values["preview"], values["truncated"] = _preview(fh.read(PREVIEW_BYTES + 1))
    return Page("dbfs.html", values)


@page
async def volumes_page(request: Request, ws: Any) -> Page | Response:
    rest = request.path_params.get("path", "").strip("/")
    path = "/Volumes" + (f"/{rest}" if rest else "")
    values: dict[str, Any] = {"nav": "volumes", "path": path, "crumbs": _crumbs(rest, "/ui/volumes")}
    if any(part in ("", ".", "..") for part in rest.split("/")) and rest:
        raise InvalidParameterValue(f"Invalid path {path}: empty, '.' and '..' segments are not allowed.")
    if rest.count("/") < 2:  # above a volume: Unity Catalog's catalogs, schemas, volumes (records, not folders)
        parts = rest.split("/") if rest else []
        docs = (
            ws.catalog.list_catalogs()
            if not parts
            else ws.catalog.list_schemas(parts[0])
            if len(parts) == 1
            else ws.catalog.list_volumes(parts[0], parts[1])
        )
        values["entries"] = [
            {"path": f"{path}/{d['name']}", "name": d["name"], "is_directory": True}
            for d in docs
            if len(parts) != 1 or d["name"] != SYSTEM_SCHEMA
        ]
        values["level"] = ("catalog", "schema", "volume")[len(parts)]
        return Page("volumes.html", values)
    local = ws.volumes.local_path(path)
    if local.is_file():
        found = ws.volumes.file(path)
        if request.query_params.get("download"):
            return _download(found.local, found.path.rsplit("/", 1)[-1])
        with open(found.local, "rb") as fh:
            values["preview"], values["truncated"] = _preview(fh.read(PREVIEW_BYTES + 1))
        values["size"] = found.stat.st_size
        return Page("volumes.html", values)
    values["entries"] = ws.volumes.list_directory(path, None, None)["contents"]
    return Page("volumes.html", values)


routes = [
    Route("/ui/jobs", jobs_list),
    Route("/ui/jobs/{job_id}", job_page),
    Route("/ui/workspace", workspace_page),
    Route("/ui/workspace/{path:path}", workspace_page),
    Route("/ui/dbfs", dbfs_page),
    Route("/ui/dbfs/{path:path}", dbfs_page),
    Route("/ui/volumes", volumes_page),
    Route("/ui/volumes/{path:path}", volumes_page),
]
