"""HTTP for the Files API on volumes (``/api/2.0/fs/files{path}``, ``/api/2.0/fs/directories{path}``).

Bodies are raw bytes both ways: uploads are streamed to a staging file (never buffered whole), downloads are
served from disk with ``Range`` support. The presigned-URL coordination endpoints that ``databricks-sdk`` tries
first answer 501, which is the SDK's cue to fall back to these plain endpoints.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from airbricks.workspace.errors import EndpointNotFound, InvalidParameterValue, NotImplementedOnLocal
from airbricks.workspace.params import Params
from airbricks.workspace.server.http import workspace
from airbricks.workspace.storage import paths
from airbricks.workspace.storage.volumes import MAX_UPLOAD_BYTES

router = APIRouter()


def _too_large() -> InvalidParameterValue:
    return InvalidParameterValue(
        f"The upload exceeds the maximum single-shot size of {MAX_UPLOAD_BYTES} bytes (5 GiB)."
    )


@router.put("/api/2.0/fs/files{file_path:path}")
async def upload(request: Request, file_path: str) -> Response:
    ws = workspace(request)
    overwrite = Params(dict(request.query_params)).bool("overwrite", default=True)
    ws.volumes.check_upload(file_path, overwrite)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise _too_large()
    staged = paths.staging_file(ws.data_dir)
    try:
        size = 0
        with open(staged, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise _too_large()
                out.write(chunk)
        ws.volumes.commit_upload(file_path, staged, overwrite)
    finally:
        staged.unlink(missing_ok=True)
    return Response(status_code=204)


@router.get("/api/2.0/fs/files{file_path:path}")
@router.head("/api/2.0/fs/files{file_path:path}")
async def download(request: Request, file_path: str) -> Response:
    """The file's bytes (``Range: bytes=a-b`` gives 206 with Content-Range); HEAD gives the headers only."""
    found = workspace(request).volumes.file(file_path)
    return FileResponse(found.local, media_type="application/octet-stream", stat_result=found.stat)


@router.delete("/api/2.0/fs/files{file_path:path}")
async def delete_file(request: Request, file_path: str) -> Response:
    workspace(request).volumes.delete_file(file_path)
    return Response(status_code=204)


@router.post("/api/2.0/fs/files{file_path:path}")
async def multipart_action(request: Request, file_path: str) -> dict[str, Any]:
    """``action=initiate-upload`` answers with a session whose part URLs are then refused (501), which makes
    ``databricks-sdk`` abandon multipart and fall back to one streamed PUT."""
    params = Params(dict(request.query_params))
    action = params.str("action", required=True)
    if action != "initiate-upload":
        raise NotImplementedOnLocal(
            f"action={action} is not supported by the local workspace: upload the file"
            " with one PUT /api/2.0/fs/files{path}."
        )
    workspace(request).volumes.check_upload(file_path, params.bool("overwrite", default=True))
    return {"multipart_upload": {"session_token": secrets.token_urlsafe(16)}}


@router.post("/api/2.0/fs/{coordination}")
async def presigned_urls(coordination: str) -> Response:
    """Presigned cloud-storage URLs do not exist locally; 501 tells the SDK to use the Files API directly."""
    if coordination not in (
        "create-download-url",
        "create-upload-part-urls",
        "create-resumable-upload-url",
        "create-abort-upload-url",
    ):  # any other path is unknown, like every unknown endpoint
        raise EndpointNotFound(f"No API found for 'POST /api/2.0/fs/{coordination}'")
    raise NotImplementedOnLocal(
        f"{coordination}: presigned URLs are not available on the local workspace; use"
        " GET/PUT /api/2.0/fs/files{path} directly."
    )


@router.put("/api/2.0/fs/directories{dir_path:path}")
async def create_directory(request: Request, dir_path: str) -> Response:
    workspace(request).volumes.create_directory(dir_path)
    return Response(status_code=204)


@router.head("/api/2.0/fs/directories{dir_path:path}")
async def directory_metadata(request: Request, dir_path: str) -> Response:
    workspace(request).volumes.directory_exists(dir_path)
    return Response(status_code=200)


@router.delete("/api/2.0/fs/directories{dir_path:path}")
async def delete_directory(request: Request, dir_path: str) -> Response:
    workspace(request).volumes.delete_directory(dir_path)
    return Response(status_code=204)


@router.get("/api/2.0/fs/directories{dir_path:path}")
async def list_directory(request: Request, dir_path: str) -> dict[str, Any]:
    params = Params(dict(request.query_params))
    page_size = params.int("page_size", minimum=0)
    return workspace(request).volumes.list_directory(dir_path, page_size, params.str("page_token"))
