"""HTTP for DBFS (``/api/2.0/dbfs/*``): parameters in, :class:`~airbricks.workspace.storage.dbfs.Dbfs` calls, JSON out."""

from __future__ import annotations

import shutil
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from airbricks.workspace.errors import InvalidParameterValue, MalformedRequest
from airbricks.workspace.params import Params
from airbricks.workspace.server.http import read_params, versioned, workspace
from airbricks.workspace.storage import paths
from airbricks.workspace.storage.dbfs import MAX_BLOCK_BYTES, block_too_large, decode_block

router = APIRouter()
VERSIONS = ("2.0",)

#: A JSON body carrying at most 1 MB of base64 data plus the path and flags.
_JSON_LIMIT = MAX_BLOCK_BYTES * 4 // 3 + 64 * 1024


async def _json(request: Request) -> Params:
    return await read_params(request, _JSON_LIMIT, block_too_large)


@versioned(router, ["GET"], "dbfs/get-status", VERSIONS)
async def get_status(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    return workspace(request).dbfs.get_status(params.raw("path"))


@versioned(router, ["GET"], "dbfs/list", VERSIONS)
async def list_(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    return {"files": workspace(request).dbfs.list(params.raw("path"))}


@versioned(router, ["GET"], "dbfs/read", VERSIONS)
async def read(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    return workspace(request).dbfs.read(params.raw("path"), params.int("offset"), params.int("length"))


@versioned(router, ["POST"], "dbfs/mkdirs", VERSIONS)
async def mkdirs(request: Request) -> dict[str, Any]:
    params = await _json(request)
    workspace(request).dbfs.mkdirs(params.raw("path"))
    return {}


@versioned(router, ["POST"], "dbfs/delete", VERSIONS)
async def delete(request: Request) -> dict[str, Any]:
    params = await _json(request)
    workspace(request).dbfs.delete(params.raw("path"), params.bool("recursive"))
    return {}


@versioned(router, ["POST"], "dbfs/move", VERSIONS)
async def move(request: Request) -> dict[str, Any]:
    params = await _json(request)
    workspace(request).dbfs.move(params.raw("source_path"), params.raw("destination_path"))
    return {}


@versioned(router, ["POST"], "dbfs/put", VERSIONS)
async def put(request: Request) -> dict[str, Any]:
    """JSON with inline base64 ``contents`` (≤ 1 MB), or multipart/form-data with a ``contents`` file part."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _put_multipart(request)
    params = await _json(request)
    contents = decode_block(params.raw("contents", ""), "contents")
    workspace(request).dbfs.put(params.raw("path"), contents, params.bool("overwrite"))
    return {}


async def _put_multipart(request: Request) -> dict[str, Any]:
    ws = workspace(request)
    staged = None
    try:
        form = await request.form()
    except Exception as exc:  # python-multipart's parse errors carry no Databricks shape
        raise MalformedRequest(f"Invalid multipart/form-data body: {exc}") from None
    try:
        fields = Params({**dict(request.query_params), **{k: v for k, v in form.items() if isinstance(v, str)}})
        part = form.get("contents")
        if part is None:
            raise InvalidParameterValue("Missing required field: contents (the file part of the multipart upload)")
        staged = paths.staging_file(ws.data_dir)
        with open(staged, "wb") as out:
            if isinstance(part, UploadFile):
                await part.seek(0)
                shutil.copyfileobj(part.file, out, 1024 * 1024)
            else:
                out.write(part.encode())
        ws.dbfs.put(fields.raw("path"), None, fields.bool("overwrite"), staged=staged)
    finally:
        await form.close()
        if staged is not None:
            staged.unlink(missing_ok=True)
    return {}


@versioned(router, ["POST"], "dbfs/create", VERSIONS)
async def create(request: Request) -> dict[str, Any]:
    params = await _json(request)
    return {"handle": workspace(request).dbfs.create(params.raw("path"), params.bool("overwrite"))}


@versioned(router, ["POST"], "dbfs/add-block", VERSIONS)
async def add_block(request: Request) -> dict[str, Any]:
    params = await _json(request)
    handle = params.int("handle", required=True)
    data = decode_block(params.raw("data", ""), "data")
    workspace(request).dbfs.add_block(handle, data)
    return {}


@versioned(router, ["POST"], "dbfs/close", VERSIONS)
async def close(request: Request) -> dict[str, Any]:
    params = await _json(request)
    workspace(request).dbfs.close(params.int("handle", required=True))
    return {}
