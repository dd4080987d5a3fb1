"""HTTP for storage: DBFS (``/api/2.0/dbfs/*``), the Workspace API (``/api/2.0/workspace/*``) and the Files API on
volumes (``/api/2.0/fs/files{path}``, ``/api/2.0/fs/directories{path}``), in one route table.

DBFS and the Workspace API take JSON (or multipart uploads) and answer JSON; their bodies are bounded with the
service's own error (``MAX_BLOCK_SIZE_EXCEEDED``, ``MAX_NOTEBOOK_SIZE_EXCEEDED``). The Files API's bodies are raw
bytes both ways: uploads are streamed to a staging file (never buffered whole), downloads are served from disk
with ``Range`` support. The presigned-URL coordination endpoints that ``databricks-sdk`` tries first answer 501,
which is the SDK's cue to fall back to the plain endpoints. The Files API serves any path below its prefix
(``{path:path}``, so a bad path gets the API's own error), and documents the volume shape it accepts.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import shutil
from typing import Any

from fastapi import Request, Response
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import (
    EndpointNotFound,
    InvalidParameterValue,
    MalformedRequest,
    MaxNotebookSizeExceeded,
    NotImplementedOnLocal,
)
from airbricks.workspace.params import Params
from airbricks.workspace.permissions import guard
from airbricks.workspace.server.http import Call, Endpoint, call, read_params, workspace
from airbricks.workspace.server.openapi import BOOL, INT, STR, enum
from airbricks.workspace.storage import paths
from airbricks.workspace.storage.dbfs import MAX_BLOCK_BYTES, block_too_large, decode_block
from airbricks.workspace.storage.volumes import MAX_UPLOAD_BYTES
from airbricks.workspace.storage.workspace_objects import MAX_IMPORT_BYTES

V20 = ("2.0",)
PATH = {"path": STR}

#: A DBFS JSON body carries at most 1 MB of base64 data plus the path and flags.
DBFS_JSON_LIMIT = MAX_BLOCK_BYTES * 4 // 3 + 64 * 1024
#: 10 MB of notebook content, base64-encoded, plus the other fields.
IMPORT_JSON_LIMIT = MAX_IMPORT_BYTES * 4 // 3 + 64 * 1024
#: Workspace API bodies without content (mkdirs, delete).
SMALL_JSON_LIMIT = 64 * 1024

FILES = "/api/2.0/fs/files{file_path:path}"
DIRECTORIES = "/api/2.0/fs/directories{dir_path:path}"
#: What the OpenAPI description shows for the Files API: the volume paths it accepts, as path parameters.
FILES_DOC = "/api/2.0/fs/files/Volumes/{catalog}/{schema}/{volume}/{file_name}"
DIRECTORIES_DOC = "/api/2.0/fs/directories/Volumes/{catalog}/{schema}/{volume}/{dir_name}"
PRESIGNED = ("create-download-url", "create-upload-part-urls", "create-resumable-upload-url", "create-abort-upload-url")


# -- DBFS ------------------------------------------------------------------------------------------------------


def _dbfs_put_json(ws: Workspace, params: Params) -> None:
    contents = decode_block(params.raw("contents", ""), "contents")
    ws.dbfs.put(params.raw("path"), contents, params.bool("overwrite"))


async def dbfs_put(request: Request) -> None:
    """JSON with inline base64 ``contents`` (≤ 1 MB), or multipart/form-data with a ``contents`` file part."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _dbfs_put_multipart(request)
    _dbfs_put_json(workspace(request), await read_params(request, DBFS_JSON_LIMIT, block_too_large))


async def _dbfs_put_multipart(request: Request) -> None:
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


def _add_block(ws: Workspace, params: Params) -> None:
    handle = params.int("handle", required=True)
    ws.dbfs.add_block(handle, decode_block(params.raw("data", ""), "data"))


def _dbfs(method: str, name: str, fn: Call, fields: dict[str, Any], required: tuple[str, ...] = ("path",)) -> Endpoint:
    """A DBFS row: POSTs bound to one block of data with MAX_BLOCK_SIZE_EXCEEDED, GETs unbounded."""
    post = method == "POST"
    return call(
        method,
        f"/api/{{version}}/dbfs/{name}",
        fn,
        versions=V20,
        fields=fields,
        required=required,
        limit=DBFS_JSON_LIMIT if post else None,
        too_large=block_too_large if post else None,
    )


DBFS_ROUTES = [
    _dbfs("GET", "get-status", lambda ws, p: ws.dbfs.get_status(p.raw("path")), PATH),
    _dbfs("GET", "list", lambda ws, p: {"files": ws.dbfs.list(p.raw("path"))}, PATH),
    _dbfs(
        "GET",
        "read",
        lambda ws, p: ws.dbfs.read(p.raw("path"), p.int("offset"), p.int("length")),
        {"path": STR, "offset": INT, "length": INT},
    ),
    _dbfs("POST", "mkdirs", lambda ws, p: ws.dbfs.mkdirs(p.raw("path")), PATH),
    _dbfs(
        "POST", "delete", lambda ws, p: ws.dbfs.delete(p.raw("path"), p.bool("recursive")), {**PATH, "recursive": BOOL}
    ),
    _dbfs(
        "POST",
        "move",
        lambda ws, p: ws.dbfs.move(p.raw("source_path"), p.raw("destination_path")),
        {"source_path": STR, "destination_path": STR},
        ("source_path", "destination_path"),
    ),
    Endpoint(
        "POST",
        "/api/{version}/dbfs/put",
        dbfs_put,
        V20,
        fields={"path": STR, "contents": STR, "overwrite": BOOL},
        required=("path",),
    ),
    _dbfs(
        "POST",
        "create",
        lambda ws, p: {"handle": ws.dbfs.create(p.raw("path"), p.bool("overwrite"))},
        {**PATH, "overwrite": BOOL},
    ),
    _dbfs("POST", "add-block", _add_block, {"handle": INT, "data": STR}, ("handle", "data")),
    _dbfs("POST", "close", lambda ws, p: ws.dbfs.close(p.int("handle", required=True)), {"handle": INT}, ("handle",)),
]


# -- Workspace API ---------------------------------------------------------------------------------------------


def _import_too_large() -> MaxNotebookSizeExceeded:
    return MaxNotebookSizeExceeded(f"The imported content exceeds the maximum size ({MAX_IMPORT_BYTES} bytes).")


async def workspace_import(request: Request) -> None:
    """JSON with base64 ``content``, or multipart/form-data with a ``content`` part (what the SDK's upload sends)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        params, content = await _import_multipart(request)
    else:
        params = await read_params(request, IMPORT_JSON_LIMIT, _import_too_large)
        encoded = params.raw("content", "")
        if not isinstance(encoded, str):
            raise InvalidParameterValue("Invalid value for field 'content': expected a base64-encoded string")
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParameterValue("Invalid value for field 'content': it is not valid base64") from None
    guard.require_path(request, params.raw("path"), "CAN_EDIT")  # the body is read here: so is the check
    workspace(request).objects.import_(
        params.raw("path"), content, params.str("format"), params.str("language"), params.bool("overwrite")
    )


async def _import_multipart(request: Request) -> tuple[Params, bytes]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_IMPORT_BYTES + 64 * 1024:
        raise _import_too_large()
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


def _export(ws: Workspace, params: Params) -> Any:
    exported = ws.objects.export(params.raw("path"), params.str("format"))
    if params.bool("direct_download"):
        return Response(exported.content, media_type="application/octet-stream")
    body: dict[str, Any] = {"content": base64.b64encode(exported.content).decode()}
    if exported.file_type:
        body["file_type"] = exported.file_type
    return body


def _list_objects(ws: Workspace, params: Params) -> dict[str, Any]:
    """An empty folder answers ``{}`` (no ``objects`` key), as the real service does."""
    objects = ws.objects.list(params.raw("path"))
    return {"objects": objects} if objects else {}


WORKSPACE = "/api/{version}/workspace/"
WORKSPACE_ROUTES = [
    Endpoint(
        "POST",
        WORKSPACE + "import",
        workspace_import,
        V20,
        fields={
            "path": STR,
            "content": STR,
            "format": enum("SOURCE", "AUTO", "JUPYTER", "DBC", "HTML", "RAW"),
            "language": enum("PYTHON", "SQL", "SCALA", "R"),
            "overwrite": BOOL,
        },
        required=("path",),
    ),
    call(
        "GET",
        WORKSPACE + "export",
        _export,
        versions=V20,
        fields={"path": STR, "format": STR, "direct_download": BOOL},
        required=("path",),
    ),
    call(
        "GET",
        WORKSPACE + "get-status",
        lambda ws, p: ws.objects.get_status(p.raw("path")),
        versions=V20,
        fields=PATH,
        required=("path",),
    ),
    call("GET", WORKSPACE + "list", _list_objects, versions=V20, fields=PATH, required=("path",)),
    call(
        "POST",
        WORKSPACE + "mkdirs",
        lambda ws, p: ws.objects.mkdirs(p.raw("path")),
        versions=V20,
        fields=PATH,
        required=("path",),
        limit=SMALL_JSON_LIMIT,
    ),
    call(
        "POST",
        WORKSPACE + "delete",
        lambda ws, p: ws.objects.delete(p.raw("path"), p.bool("recursive")),
        versions=V20,
        fields={**PATH, "recursive": BOOL},
        required=("path",),
        limit=SMALL_JSON_LIMIT,
    ),
]


# -- Files API on volumes --------------------------------------------------------------------------------------


def _upload_too_large() -> InvalidParameterValue:
    return InvalidParameterValue(
        f"The upload exceeds the maximum single-shot size of {MAX_UPLOAD_BYTES} bytes (5 GiB)."
    )


async def upload(request: Request) -> Response:
    ws = workspace(request)
    file_path = request.path_params["file_path"]
    overwrite = Params(dict(request.query_params)).bool("overwrite", default=True)
    ws.volumes.check_upload(file_path, overwrite)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise _upload_too_large()
    staged = paths.staging_file(ws.data_dir)
    try:
        size = 0
        with open(staged, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise _upload_too_large()
                out.write(chunk)
        ws.volumes.commit_upload(file_path, staged, overwrite)
    finally:
        staged.unlink(missing_ok=True)
    return Response(status_code=204)


async def download(request: Request) -> Response:
    """The file's bytes (``Range: bytes=a-b`` gives 206 with Content-Range); HEAD gives the headers only."""
    found = workspace(request).volumes.file(request.path_params["file_path"])
    return FileResponse(found.local, media_type="application/octet-stream", stat_result=found.stat)


async def delete_file(request: Request) -> Response:
    workspace(request).volumes.delete_file(request.path_params["file_path"])
    return Response(status_code=204)


async def multipart_action(request: Request) -> dict[str, Any]:
    """``action=initiate-upload`` answers with a session whose part URLs are then refused (501), which makes
    ``databricks-sdk`` abandon multipart and fall back to one streamed PUT."""
    params = Params(dict(request.query_params))
    action = params.str("action", required=True)
    if action != "initiate-upload":
        raise NotImplementedOnLocal(
            f"action={action} is not supported by the local workspace: upload the file"
            " with one PUT /api/2.0/fs/files{path}."
        )
    workspace(request).volumes.check_upload(request.path_params["file_path"], params.bool("overwrite", default=True))
    return {"multipart_upload": {"session_token": secrets.token_urlsafe(16)}}


async def presigned_urls(request: Request) -> Response:
    """Presigned cloud-storage URLs do not exist locally; 501 tells the SDK to use the Files API directly."""
    coordination = request.path_params["coordination"]
    if coordination not in PRESIGNED:  # any other path is unknown, like every unknown endpoint
        raise EndpointNotFound(f"No API found for 'POST /api/2.0/fs/{coordination}'")
    raise NotImplementedOnLocal(
        f"{coordination}: presigned URLs are not available on the local workspace; use"
        " GET/PUT /api/2.0/fs/files{path} directly."
    )


async def create_directory(request: Request) -> Response:
    workspace(request).volumes.create_directory(request.path_params["dir_path"])
    return Response(status_code=204)


async def directory_metadata(request: Request) -> Response:
    workspace(request).volumes.directory_exists(request.path_params["dir_path"])
    return Response(status_code=200)


async def delete_directory(request: Request) -> Response:
    workspace(request).volumes.delete_directory(request.path_params["dir_path"])
    return Response(status_code=204)


async def list_directory(request: Request) -> dict[str, Any]:
    params = Params(dict(request.query_params))
    page_size = params.int("page_size", minimum=0)
    return workspace(request).volumes.list_directory(
        request.path_params["dir_path"], page_size, params.str("page_token")
    )


#: Order matters where patterns overlap: a GET row also answers HEAD (Starlette adds it), which is what a file's
#: HEAD wants, while the directories' HEAD row comes before their GET row; the files' rows come before the
#: one-segment presigned-URL row.
FILES_ROUTES = [
    Endpoint("PUT", FILES, upload, fields={"overwrite": BOOL}, body="binary", doc_path=FILES_DOC),
    Endpoint("GET", FILES, download, fields={}, body="none", doc_path=FILES_DOC),
    Endpoint("DELETE", FILES, delete_file, fields={}, body="none", doc_path=FILES_DOC),
    Endpoint("POST", FILES, multipart_action),
    Endpoint("POST", "/api/2.0/fs/{coordination}", presigned_urls),
    Endpoint("PUT", DIRECTORIES, create_directory, fields={}, body="none", doc_path=DIRECTORIES_DOC),
    Endpoint("HEAD", DIRECTORIES, directory_metadata),
    Endpoint("DELETE", DIRECTORIES, delete_directory, fields={}, body="none", doc_path=DIRECTORIES_DOC),
    Endpoint(
        "GET",
        DIRECTORIES,
        list_directory,
        fields={"page_size": INT, "page_token": STR},
        body="none",
        doc_path=DIRECTORIES_DOC,
    ),
]

ROUTES: list[Endpoint] = [*DBFS_ROUTES, *WORKSPACE_ROUTES, *FILES_ROUTES]
#: Who may do what to a workspace object (inherited from folders; ``import`` checks in its handler, after its body).
_AT = guard.workspace_path()
PERMISSIONS: dict[str, guard.Rule] = {
    f"GET {WORKSPACE}export": guard.need("CAN_READ", _AT),
    f"GET {WORKSPACE}get-status": guard.need("CAN_READ", _AT),
    f"GET {WORKSPACE}list": guard.lists("CAN_READ", _AT, "objects", guard.PATH, "path"),
    f"POST {WORKSPACE}mkdirs": guard.need("CAN_EDIT", _AT),
    f"POST {WORKSPACE}delete": guard.need("CAN_MANAGE", _AT),
}
