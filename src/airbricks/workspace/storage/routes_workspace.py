"""HTTP for the Workspace API (``/api/2.0/workspace/*``): import/export, status, list, mkdirs, delete."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile

from airbricks.workspace.errors import InvalidParameterValue, MalformedRequest, MaxNotebookSizeExceeded
from airbricks.workspace.params import Params
from airbricks.workspace.server.http import read_params, versioned, workspace
from airbricks.workspace.storage.workspace_objects import MAX_IMPORT_BYTES

router = APIRouter()
VERSIONS = ("2.0",)

#: 10 MB of content, base64-encoded, plus the other fields.
_JSON_LIMIT = MAX_IMPORT_BYTES * 4 // 3 + 64 * 1024


def _too_large() -> MaxNotebookSizeExceeded:
    return MaxNotebookSizeExceeded(f"The imported content exceeds the maximum size ({MAX_IMPORT_BYTES} bytes).")


@versioned(router, ["POST"], "workspace/import", VERSIONS)
async def import_(request: Request) -> dict[str, Any]:
    """JSON with base64 ``content``, or multipart/form-data with a ``content`` part (what the SDK's upload sends)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        params, content = await _multipart(request)
    else:
        params = await read_params(request, _JSON_LIMIT, _too_large)
        encoded = params.raw("content", "")
        if not isinstance(encoded, str):
            raise InvalidParameterValue("Invalid value for field 'content': expected a base64-encoded string")
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParameterValue("Invalid value for field 'content': it is not valid base64") from None
    workspace(request).objects.import_(
        params.raw("path"), content, params.str("format"), params.str("language"), params.bool("overwrite")
    )
    return {}


async def _multipart(request: Request) -> tuple[Params, bytes]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_IMPORT_BYTES + 64 * 1024:
        raise _too_large()
    try:
        form = await request.form(max_part_size=MAX_IMPORT_BYTES + 1)
    except Exception as exc:  # python-multipart's parse errors carry no Databricks shape
        raise MalformedRequest(f"Invalid multipart/form-data body: {exc}") from None
    try:
        fields = {k: v for k, v in form.items() if isinstance(v, str) and k != "content"}
        part = form.get("content")
        if part is None:
            raise InvalidParameterValue("Missing required field: content")
        if isinstance(part, UploadFile):
            content = await part.read(MAX_IMPORT_BYTES + 1)
        else:
            content = part.encode()
    finally:
        await form.close()
    return Params({**dict(request.query_params), **fields}), content


@versioned(router, ["GET"], "workspace/export", VERSIONS)
async def export(request: Request) -> Any:
    params = await read_params(request)
    exported = workspace(request).objects.export(params.raw("path"), params.str("format"))
    if params.bool("direct_download"):
        return Response(exported.content, media_type="application/octet-stream")
    body: dict[str, Any] = {"content": base64.b64encode(exported.content).decode()}
    if exported.file_type:
        body["file_type"] = exported.file_type
    return body


@versioned(router, ["GET"], "workspace/get-status", VERSIONS)
async def get_status(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    return workspace(request).objects.get_status(params.raw("path"))


@versioned(router, ["GET"], "workspace/list", VERSIONS)
async def list_(request: Request) -> dict[str, Any]:
    """An empty folder answers ``{}`` (no ``objects`` key), as the real service does."""
    params = await read_params(request)
    objects = workspace(request).objects.list(params.raw("path"))
    return {"objects": objects} if objects else {}


@versioned(router, ["POST"], "workspace/mkdirs", VERSIONS)
async def mkdirs(request: Request) -> dict[str, Any]:
    params = await read_params(request, 64 * 1024)
    workspace(request).objects.mkdirs(params.raw("path"))
    return {}


@versioned(router, ["POST"], "workspace/delete", VERSIONS)
async def delete(request: Request) -> dict[str, Any]:
    params = await read_params(request, 64 * 1024)
    workspace(request).objects.delete(params.raw("path"), params.bool("recursive"))
    return {}
