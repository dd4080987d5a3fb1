"""DBFS over real HTTP: databricks-sdk round trips, the real limits and error codes, path safety, durability."""

from __future__ import annotations

import base64
import io
import os
import uuid
from pathlib import Path

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import ResourceAlreadyExists, ResourceDoesNotExist

from airbricks.workspace.server.serve import LocalWorkspace

MB = 1024 * 1024


@pytest.fixture
def base() -> str:
    return f"/tests/{uuid.uuid4().hex[:8]}"


def _api(local_ws: LocalWorkspace, method: str, endpoint: str, **kwargs: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {local_ws.token}", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    return requests.request(method, f"{local_ws.url}/api/2.0/dbfs/{endpoint}", headers=headers, timeout=30, **kwargs)


def test_sdk_upload_download_multi_block(sdk: WorkspaceClient, base: str) -> None:
    data = os.urandom(2 * MB + 123)  # three add-block calls of at most 1 MB each
    sdk.dbfs.upload(f"dbfs:{base}/data.bin", io.BytesIO(data))
    status = sdk.dbfs.get_status(f"{base}/data.bin")
    assert (status.path, status.is_dir, status.file_size) == (f"{base}/data.bin", False, len(data))
    assert status.modification_time > 1_600_000_000_000
    assert sdk.dbfs.download(f"dbfs:{base}/data.bin").read() == data
    assert sdk.dbfs.exists(f"{base}/data.bin") and not sdk.dbfs.exists(f"{base}/missing")


def test_put_read_list_move_delete(sdk: WorkspaceClient, base: str) -> None:
    sdk.dbfs.mkdirs(f"{base}/dir/sub")
    sdk.dbfs.put(f"{base}/dir/a.txt", contents=base64.b64encode(b"hello world").decode())
    read = sdk.dbfs.read(f"{base}/dir/a.txt", offset=6, length=100)
    assert (read.bytes_read, base64.b64decode(read.data)) == (5, b"world")
    assert sorted((f.path, f.is_dir) for f in sdk.dbfs.list(f"{base}/dir")) == [
        (f"{base}/dir/a.txt", False),
        (f"{base}/dir/sub", True),
    ]
    sdk.dbfs.move_(f"{base}/dir/a.txt", f"{base}/moved/b.txt")
    assert not sdk.dbfs.exists(f"{base}/dir/a.txt")
    assert sdk.dbfs.download(f"{base}/moved/b.txt").read() == b"hello world"
    sdk.dbfs.delete(f"{base}/dir", recursive=True)
    assert not sdk.dbfs.exists(f"{base}/dir")


def test_missing_path_is_resource_does_not_exist(sdk: WorkspaceClient, local_ws: LocalWorkspace, base: str) -> None:
    with pytest.raises(ResourceDoesNotExist):
        sdk.dbfs.get_status(f"{base}/nope")
    response = _api(local_ws, "GET", "get-status", params={"path": f"dbfs:{base}/nope"})
    assert response.status_code == 404
    assert response.json() == {
        "error_code": "RESOURCE_DOES_NOT_EXIST",
        "message": f"No file or directory exists on path {base}/nope.",
    }
    with pytest.raises(ResourceDoesNotExist):
        sdk.dbfs.read(f"{base}/nope")


def test_put_without_overwrite_on_existing_file(sdk: WorkspaceClient, local_ws: LocalWorkspace, base: str) -> None:
    sdk.dbfs.put(f"{base}/x", contents=base64.b64encode(b"1").decode())
    with pytest.raises(ResourceAlreadyExists):
        sdk.dbfs.put(f"{base}/x", contents=base64.b64encode(b"2").decode())
    response = _api(local_ws, "POST", "create", json={"path": f"{base}/x"})
    assert response.status_code == 400
    assert response.json()["message"] == f"A file or directory already exists at the input path {base}/x."
    sdk.dbfs.put(f"{base}/x", contents=base64.b64encode(b"3").decode(), overwrite=True)
    assert sdk.dbfs.download(f"{base}/x").read() == b"3"


def test_size_limits(local_ws: LocalWorkspace, base: str) -> None:
    too_big = base64.b64encode(b"\0" * (MB + 1)).decode()
    response = _api(local_ws, "POST", "put", json={"path": f"{base}/big", "contents": too_big})
    assert (response.status_code, response.json()["error_code"]) == (400, "MAX_BLOCK_SIZE_EXCEEDED")
    handle = _api(local_ws, "POST", "create", json={"path": f"{base}/streamed"}).json()["handle"]
    response = _api(local_ws, "POST", "add-block", json={"handle": handle, "data": too_big})
    assert response.json()["error_code"] == "MAX_BLOCK_SIZE_EXCEEDED"
    response = _api(local_ws, "GET", "read", params={"path": f"{base}/streamed", "length": MB + 1})
    assert response.json()["error_code"] in ("MAX_READ_SIZE_EXCEEDED", "RESOURCE_DOES_NOT_EXIST")
    # a 20 MB JSON body is refused with the limit's error, not a 500 or a hang
    response = _api(
        local_ws, "POST", "put", data=b"{" + b" " * (20 * MB) + b"}", headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["error_code"]) == (400, "MAX_BLOCK_SIZE_EXCEEDED")


def test_streaming_content_visible_only_on_close(sdk: WorkspaceClient, local_ws: LocalWorkspace, base: str) -> None:
    handle = _api(local_ws, "POST", "create", json={"path": f"{base}/s.txt"}).json()["handle"]
    _api(local_ws, "POST", "add-block", json={"handle": handle, "data": base64.b64encode(b"part1").decode()})
    assert not sdk.dbfs.exists(f"{base}/s.txt")
    _api(local_ws, "POST", "add-block", json={"handle": handle, "data": base64.b64encode(b"part2").decode()})
    assert _api(local_ws, "POST", "close", json={"handle": handle}).status_code == 200
    assert sdk.dbfs.download(f"{base}/s.txt").read() == b"part1part2"
    response = _api(local_ws, "POST", "close", json={"handle": handle})
    assert (response.status_code, response.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    with pytest.raises(ResourceDoesNotExist):
        sdk.dbfs.add_block(987654321, base64.b64encode(b"x").decode())


def test_multipart_put(sdk: WorkspaceClient, local_ws: LocalWorkspace, base: str) -> None:
    data = os.urandom(3 * MB)
    response = _api(
        local_ws,
        "POST",
        "put",
        files={"contents": ("f.bin", data)},
        data={"path": f"dbfs:{base}/mp.bin", "overwrite": "false"},
    )
    assert response.status_code == 200, response.text
    assert sdk.dbfs.download(f"{base}/mp.bin").read() == data
    response = _api(local_ws, "POST", "put", files={"contents": ("f.bin", b"x")}, data={"path": f"{base}/mp.bin"})
    assert response.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"


def test_delete_non_empty_directory_needs_recursive(sdk: WorkspaceClient, local_ws: LocalWorkspace, base: str) -> None:
    sdk.dbfs.put(f"{base}/d/f", contents="")
    response = _api(local_ws, "POST", "delete", json={"path": f"{base}/d"})
    assert (response.status_code, response.json()["error_code"]) == (400, "IO_ERROR")
    assert sdk.dbfs.exists(f"{base}/d/f")
    _api(local_ws, "POST", "delete", json={"path": f"{base}/d", "recursive": True})
    assert not sdk.dbfs.exists(f"{base}/d")


def test_mkdirs_over_a_file_is_refused(sdk: WorkspaceClient, base: str) -> None:
    sdk.dbfs.put(f"{base}/file", contents="")
    with pytest.raises(ResourceAlreadyExists):
        sdk.dbfs.mkdirs(f"{base}/file/sub")


@pytest.mark.parametrize("path", ["../../etc/passwd", "/a/../../x", "/%2e%2e/%2e%2e/x", "/a/\x00b", "relative"])
def test_path_traversal_is_refused(local_ws: LocalWorkspace, path: str) -> None:
    before = set(os.listdir(Path(local_ws.workspace.data_dir).parent))
    for endpoint, method, kwargs in [
        ("get-status", "GET", {"params": {"path": path}}),
        ("put", "POST", {"json": {"path": path, "contents": "eA==", "overwrite": True}}),
        ("mkdirs", "POST", {"json": {"path": path}}),
    ]:
        response = _api(local_ws, method, endpoint, **kwargs)
        if path == "/%2e%2e/%2e%2e/x":  # a literal name in a JSON body, kept inside the root
            assert response.status_code in (200, 400, 404)
        else:
            assert (response.status_code, response.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert set(os.listdir(Path(local_ws.workspace.data_dir).parent)) == before


def test_symlink_inside_data_dir_is_not_followed(local_ws: LocalWorkspace, tmp_path: Path, base: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET-CONTENT")
    link = local_ws.workspace.dbfs.local_path(base + "/link")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    response = _api(local_ws, "GET", "read", params={"path": f"{base}/link/secret.txt"})
    assert response.status_code == 400 and base64.b64encode(b"TOP-SECRET").decode()[:8] not in response.text
    response = _api(local_ws, "POST", "put", json={"path": f"{base}/link/new.txt", "contents": "eA=="})
    assert response.status_code == 400
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    listing = _api(local_ws, "GET", "list", params={"path": base}).json()
    assert all(not f["path"].endswith("/link") for f in listing.get("files", []))


def test_get_params_in_json_body(local_ws: LocalWorkspace, sdk: WorkspaceClient, base: str) -> None:
    sdk.dbfs.put(f"{base}/j", contents=base64.b64encode(b"abc").decode())
    response = _api(local_ws, "GET", "read", json={"path": f"dbfs:{base}/j", "offset": "1", "length": "1"})
    assert response.json() == {"bytes_read": 1, "data": base64.b64encode(b"b").decode()}


def test_files_survive_restart(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    with LocalWorkspace(tmp_path / "ws") as ws:
        client = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")
        client.dbfs.upload("dbfs:/keep/data.bin", io.BytesIO(data))
    with LocalWorkspace(tmp_path / "ws") as ws:
        client = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")
        assert client.dbfs.download("/keep/data.bin").read() == data
    assert (tmp_path / "ws" / "dbfs" / "keep" / "data.bin").read_bytes() == data
