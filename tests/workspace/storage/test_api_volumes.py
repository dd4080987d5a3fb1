"""The Files API on volumes over real HTTP: databricks-sdk (with its presigned-URL fallbacks), Range, errors."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config
from databricks.sdk.errors import AlreadyExists, NotFound

from airbricks.workspace.server.serve import LocalWorkspace


@pytest.fixture
def vol(create_volume) -> str:
    """A fresh volume: volumes must exist before the Files API accepts their paths."""
    return create_volume(f"main.default.v{uuid.uuid4().hex[:8]}")


def _fs(local_ws: LocalWorkspace, method: str, suffix: str, **kwargs: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {local_ws.token}", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    return requests.request(method, f"{local_ws.url}/api/2.0/fs/{suffix}", headers=headers, timeout=30, **kwargs)


def test_sdk_upload_download_metadata_list_delete(sdk: WorkspaceClient, vol: str) -> None:
    data = os.urandom(1_500_000)
    sdk.files.upload(f"{vol}/dir/data.bin", io.BytesIO(data))
    meta = sdk.files.get_metadata(f"{vol}/dir/data.bin")
    assert (meta.content_length, meta.content_type) == (len(data), "application/octet-stream")
    assert meta.last_modified.endswith("GMT")
    assert sdk.files.download(f"{vol}/dir/data.bin").contents.read() == data
    sdk.files.create_directory(f"{vol}/empty/nested")
    sdk.files.get_directory_metadata(f"{vol}/empty/nested")
    entries = {e.name: e for e in sdk.files.list_directory_contents(vol)}
    assert set(entries) == {"dir", "empty"} and entries["dir"].is_directory
    assert entries["dir"].path == f"{vol}/dir"
    (file_entry,) = sdk.files.list_directory_contents(f"{vol}/dir")
    assert (file_entry.name, file_entry.file_size, file_entry.is_directory) == ("data.bin", len(data), False)
    sdk.files.delete(f"{vol}/dir/data.bin")
    with pytest.raises(NotFound):
        sdk.files.download(f"{vol}/dir/data.bin")
    with pytest.raises(NotFound):
        sdk.files.get_metadata(f"{vol}/dir/data.bin")
    with pytest.raises(NotFound):
        sdk.files.delete(f"{vol}/dir/data.bin")
    sdk.files.delete_directory(f"{vol}/empty/nested")
    with pytest.raises(NotFound):
        sdk.files.get_directory_metadata(f"{vol}/empty/nested")


def test_large_upload_falls_back_from_multipart(local_ws: LocalWorkspace, vol: str) -> None:
    """Above the SDK's multipart threshold it initiates a multipart session, is refused part URLs (501), and
    falls back to one streamed PUT."""
    config = Config(host=local_ws.url, token=local_ws.token, auth_type="pat")
    config.files_ext_multipart_upload_min_stream_size = 1024 * 1024
    client = WorkspaceClient(config=config)
    data = os.urandom(3 * 1024 * 1024 + 7)
    client.files.upload(f"{vol}/big.bin", io.BytesIO(data))
    assert client.files.download(f"{vol}/big.bin").contents.read() == data


def test_overwrite_false_is_already_exists(sdk: WorkspaceClient, local_ws: LocalWorkspace, vol: str) -> None:
    sdk.files.upload(f"{vol}/a.txt", io.BytesIO(b"one"))
    with pytest.raises(AlreadyExists):
        sdk.files.upload(f"{vol}/a.txt", io.BytesIO(b"two"), overwrite=False)
    response = _fs(local_ws, "PUT", f"files{vol}/a.txt", params={"overwrite": "false"}, data=b"two")
    assert (response.status_code, response.json()["error_code"]) == (409, "ALREADY_EXISTS")
    sdk.files.upload(f"{vol}/a.txt", io.BytesIO(b"three"))  # overwrite defaults to true
    assert sdk.files.download(f"{vol}/a.txt").contents.read() == b"three"


def test_range_and_head(local_ws: LocalWorkspace, vol: str) -> None:
    assert _fs(local_ws, "PUT", f"files{vol}/r.txt", data=b"0123456789").status_code == 204
    response = _fs(local_ws, "GET", f"files{vol}/r.txt", headers={"Range": "bytes=2-4"})
    assert (response.status_code, response.content) == (206, b"234")
    assert response.headers["content-range"] == "bytes 2-4/10"
    response = _fs(local_ws, "GET", f"files{vol}/r.txt", headers={"Range": "bytes=7-"})
    assert (response.status_code, response.content) == (206, b"789")
    response = _fs(local_ws, "HEAD", f"files{vol}/r.txt")
    assert (response.status_code, response.content, response.headers["content-length"]) == (200, b"", "10")
    assert "last-modified" in response.headers


def test_paths_outside_volumes_are_refused(local_ws: LocalWorkspace) -> None:
    for suffix in ("files/tmp/x", "files/Volumes/c/s/v", "directories/Users/me"):
        response = _fs(local_ws, "GET", suffix)
        assert (response.status_code, response.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
        assert "/Volumes/<catalog>/<schema>/<volume>" in response.json()["message"]


@pytest.mark.parametrize(
    "suffix", ["/%2e%2e/%2e%2e/%2e%2e/%2e%2e/escape.txt", "/sub/%2e%2e/%2e%2e/%2e%2e/x.txt", "/a%00b"]
)
def test_traversal_is_refused_and_creates_nothing(local_ws: LocalWorkspace, vol: str, suffix: str) -> None:
    data_dir = local_ws.workspace.data_dir
    before = set(os.listdir(data_dir.parent)), set(os.listdir(data_dir))
    response = _fs(local_ws, "PUT", f"files{vol}{suffix}", data=b"pwned")
    assert (response.status_code, response.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert (set(os.listdir(data_dir.parent)), set(os.listdir(data_dir))) == before


def test_symlink_planted_in_volume_is_not_followed(local_ws: LocalWorkspace, vol: str, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"TOP-SECRET")
    link = local_ws.workspace.volumes.local_path(f"{vol}/link")
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside)
    response = _fs(local_ws, "GET", f"files{vol}/link/secret")
    assert response.status_code == 400 and b"TOP-SECRET" not in response.content
    response = _fs(local_ws, "PUT", f"files{vol}/link/new", data=b"x")
    assert response.status_code == 400
    assert os.listdir(outside) == ["secret"]
    names = [e["name"] for e in _fs(local_ws, "GET", f"directories{vol}").json().get("contents", [])]
    assert "link" not in names


def test_directory_rules_and_paging(sdk: WorkspaceClient, local_ws: LocalWorkspace, vol: str) -> None:
    for i in range(5):
        sdk.files.upload(f"{vol}/p/f{i}", io.BytesIO(b"x"))
    page = _fs(local_ws, "GET", f"directories{vol}/p", params={"page_size": 2}).json()
    assert [e["name"] for e in page["contents"]] == ["f0", "f1"] and page["next_page_token"]
    names = [e.name for e in sdk.files.list_directory_contents(f"{vol}/p", page_size=2)]
    assert names == [f"f{i}" for i in range(5)]
    response = _fs(local_ws, "DELETE", f"directories{vol}/p")
    assert response.status_code == 409  # not empty
    with pytest.raises(NotFound):
        list(sdk.files.list_directory_contents(f"{vol}/missing"))
    with pytest.raises(AlreadyExists):
        sdk.files.create_directory(f"{vol}/p/f0/sub")


def test_oversized_declared_upload_is_refused(local_ws: LocalWorkspace, vol: str) -> None:
    response = _fs(local_ws, "PUT", f"files{vol}/huge", headers={"Content-Length": str(6 * 1024**3)}, data=b"")
    assert response.status_code == 400
    assert "5 GiB" in response.json()["message"]


def test_volume_files_survive_restart(tmp_path: Path) -> None:
    from databricks.sdk.service.catalog import VolumeType

    with LocalWorkspace(tmp_path / "ws") as ws:
        client = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")
        client.catalogs.create(name="c")
        client.schemas.create(name="s", catalog_name="c")
        client.volumes.create(catalog_name="c", schema_name="s", name="v", volume_type=VolumeType.MANAGED)
        client.files.upload("/Volumes/c/s/v/keep.txt", io.BytesIO(b"durable"))
    with LocalWorkspace(tmp_path / "ws") as ws:
        client = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")
        assert client.volumes.read("c.s.v").volume_type == VolumeType.MANAGED
        assert client.files.download("/Volumes/c/s/v/keep.txt").contents.read() == b"durable"
    assert (tmp_path / "ws" / "volumes" / "c" / "s" / "v" / "keep.txt").read_bytes() == b"durable"


def test_presigned_url_endpoints_are_501_and_unknown_fs_paths_are_404(local_ws: LocalWorkspace) -> None:
    presigned = _fs(local_ws, "POST", "create-download-url", json={"path": "/Volumes/main/default/v/x"})
    assert presigned.status_code == 501 and presigned.json()["error_code"] == "NOT_IMPLEMENTED"
    unknown = _fs(local_ws, "POST", "no-such-thing", json={})
    assert unknown.status_code == 404
    assert unknown.json() == {
        "error_code": "ENDPOINT_NOT_FOUND",
        "message": "No API found for 'POST /api/2.0/fs/no-such-thing'",
    }
