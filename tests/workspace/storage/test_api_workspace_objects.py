"""The Workspace API over real HTTP: notebooks in SOURCE format via databricks-sdk, errors, limits, durability."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, ResourceAlreadyExists, ResourceDoesNotExist
from databricks.sdk.service.workspace import ExportFormat, ImportFormat, Language, ObjectType

from airbricks.workspace.errors import ResourceDoesNotExist as LocalDoesNotExist
from airbricks.workspace.server.serve import LocalWorkspace

HEADER = "# Databricks notebook source\n"


@pytest.fixture
def home() -> str:
    return f"/Users/{uuid.uuid4().hex[:8]}@example.com"


def _ws(local_ws: LocalWorkspace, method: str, endpoint: str, **kwargs: object) -> requests.Response:
    headers = {"Authorization": f"Bearer {local_ws.token}"}
    return requests.request(
        method, f"{local_ws.url}/api/2.0/workspace/{endpoint}", headers=headers, timeout=30, **kwargs
    )


def test_upload_notebook_gets_header_and_exports(sdk: WorkspaceClient, local_ws: LocalWorkspace, home: str) -> None:
    sdk.workspace.upload(
        f"{home}/nb", b"print('hi')\n", format=ImportFormat.SOURCE, language=Language.PYTHON, overwrite=True
    )
    status = sdk.workspace.get_status(f"{home}/nb")
    assert (status.object_type, status.language, status.path) == (ObjectType.NOTEBOOK, Language.PYTHON, f"{home}/nb")
    assert status.object_id and status.created_at and status.modified_at
    assert sdk.workspace.download(f"{home}/nb").read() == (HEADER + "print('hi')\n").encode()
    exported = sdk.workspace.export(f"{home}/nb", format=ExportFormat.SOURCE)
    assert base64.b64decode(exported.content).decode() == HEADER + "print('hi')\n"
    assert local_ws.workspace.objects.notebook_source(f"/Workspace{home}/nb") == ("PYTHON", HEADER + "print('hi')\n")


def test_json_import_with_cells_and_overwrite(sdk: WorkspaceClient, local_ws: LocalWorkspace, home: str) -> None:
    source = HEADER + "x = 1\n\n# COMMAND ----------\n\nprint(x)\n"
    body = {
        "path": f"{home}/cells",
        "format": "SOURCE",
        "language": "PYTHON",
        "content": base64.b64encode(source.encode()).decode(),
    }
    assert _ws(local_ws, "POST", "import", json=body).status_code == 200
    response = _ws(local_ws, "POST", "import", json=body)
    assert response.status_code == 400
    assert response.json() == {"error_code": "RESOURCE_ALREADY_EXISTS", "message": f"{home}/cells already exists"}
    with pytest.raises(ResourceAlreadyExists):
        sdk.workspace.upload(f"{home}/cells", b"y = 2", language=Language.PYTHON)
    object_id = sdk.workspace.get_status(f"{home}/cells").object_id
    assert _ws(local_ws, "POST", "import", json={**body, "overwrite": True}).status_code == 200
    assert sdk.workspace.get_status(f"{home}/cells").object_id == object_id
    assert sdk.workspace.download(f"{home}/cells").read().decode() == source


def test_auto_and_jupyter_imports(sdk: WorkspaceClient, home: str) -> None:
    sdk.workspace.upload(f"{home}/auto.py", (HEADER + "a = 1\n").encode(), format=ImportFormat.AUTO)
    assert sdk.workspace.get_status(f"{home}/auto").object_type == ObjectType.NOTEBOOK  # extension removed
    sdk.workspace.upload(f"{home}/data.csv", b"a,b\n1,2\n", format=ImportFormat.AUTO)
    status = sdk.workspace.get_status(f"{home}/data.csv")
    assert (status.object_type, status.size) == (ObjectType.FILE, 8)
    assert sdk.workspace.download(f"{home}/data.csv").read() == b"a,b\n1,2\n"
    nb = {
        "cells": [{"cell_type": "markdown", "source": ["# Title"]}, {"cell_type": "code", "source": ["b = 2"]}],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    sdk.workspace.upload(f"{home}/jup.ipynb", json.dumps(nb).encode(), format=ImportFormat.JUPYTER)
    text = sdk.workspace.download(f"{home}/jup").read().decode()
    assert text.startswith(HEADER) and "# MAGIC %md" in text and "# COMMAND ----------" in text and "b = 2" in text
    exported = json.loads(sdk.workspace.download(f"{home}/jup", format=ExportFormat.JUPYTER).read())
    assert [c["cell_type"] for c in exported["cells"]] == ["markdown", "code"]


def test_dbc_is_refused_clearly(local_ws: LocalWorkspace, home: str) -> None:
    response = _ws(local_ws, "POST", "import", json={"path": f"{home}/x", "format": "DBC", "content": "eA=="})
    assert response.status_code == 400 and "DBC" in response.json()["message"]


def test_missing_objects_are_resource_does_not_exist(sdk: WorkspaceClient, local_ws: LocalWorkspace, home: str) -> None:
    with pytest.raises(ResourceDoesNotExist):
        sdk.workspace.get_status(f"{home}/nope")
    with pytest.raises(NotFound):  # ResourceDoesNotExist is a NotFound
        sdk.workspace.export(f"{home}/nope")
    response = _ws(local_ws, "GET", "get-status", params={"path": f"{home}/nope"})
    assert (response.status_code, response.json()["message"]) == (404, f"Path ({home}/nope) doesn't exist.")
    with pytest.raises(LocalDoesNotExist):
        local_ws.workspace.objects.notebook_source(f"{home}/nope")
    with pytest.raises(ResourceDoesNotExist):  # parents outside a home folder are not created implicitly
        sdk.workspace.upload("/Shared/no/such/dir/nb", b"1", language=Language.PYTHON)


def test_mkdirs_list_delete(sdk: WorkspaceClient, local_ws: LocalWorkspace, home: str) -> None:
    sdk.workspace.mkdirs(f"{home}/a/b")
    sdk.workspace.upload(f"{home}/a/nb", b"1", language=Language.SQL)
    listed = {o.path: o for o in sdk.workspace.list(f"{home}/a")}
    assert listed[f"{home}/a/b"].object_type == ObjectType.DIRECTORY
    assert listed[f"{home}/a/nb"].language == Language.SQL
    assert sdk.workspace.download(f"{home}/a/nb").read().startswith(b"-- Databricks notebook source")
    assert list(sdk.workspace.list(f"{home}/a/b")) == []
    response = _ws(local_ws, "POST", "delete", json={"path": f"{home}/a"})
    assert (response.status_code, response.json()["error_code"]) == (400, "DIRECTORY_NOT_EMPTY")
    with pytest.raises(ResourceAlreadyExists):
        sdk.workspace.mkdirs(f"{home}/a/nb/sub")
    sdk.workspace.delete(f"{home}/a", recursive=True)
    with pytest.raises(ResourceDoesNotExist):
        sdk.workspace.get_status(f"{home}/a/nb")


@pytest.mark.parametrize("path", ["/Users/../../etc/passwd", "../x", "/Users/a/%2e%2e/%2e%2e/x"])
def test_traversal_is_refused(local_ws: LocalWorkspace, path: str) -> None:
    data_dir = local_ws.workspace.data_dir
    before = set(data_dir.parent.iterdir())
    response = _ws(
        local_ws, "POST", "import", json={"path": path, "format": "SOURCE", "language": "PYTHON", "content": "eA=="}
    )
    if "%2e" in path:  # a literal (odd) name inside the workspace root, not a traversal
        assert not (data_dir.parent / "x").exists()
    else:
        assert (response.status_code, response.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert set(data_dir.parent.iterdir()) == before


def test_oversized_import_is_refused(local_ws: LocalWorkspace, home: str) -> None:
    content = base64.b64encode(b"#" * (11 * 1024 * 1024)).decode()
    response = _ws(
        local_ws,
        "POST",
        "import",
        json={"path": f"{home}/big", "format": "SOURCE", "language": "PYTHON", "content": content},
    )
    assert (response.status_code, response.json()["error_code"]) == (400, "MAX_NOTEBOOK_SIZE_EXCEEDED")


def test_notebooks_survive_restart(tmp_path: Path) -> None:
    with LocalWorkspace(tmp_path / "ws") as ws:
        client = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")
        client.workspace.upload("/Users/me@example.com/keep", b"select 1", language=Language.SQL)
        object_id = client.workspace.get_status("/Users/me@example.com/keep").object_id
    with LocalWorkspace(tmp_path / "ws") as ws:
        client = WorkspaceClient(host=ws.url, token=ws.token, auth_type="pat")
        status = client.workspace.get_status("/Users/me@example.com/keep")
        assert (status.object_type, status.language, status.object_id) == (ObjectType.NOTEBOOK, Language.SQL, object_id)
        assert client.workspace.download("/Users/me@example.com/keep").read() == (
            b"-- Databricks notebook source\nselect 1"
        )
