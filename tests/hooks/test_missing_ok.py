"""File waits ask "is it there?" with ``missing_ok``: a missing file or directory is ``None``, not an exception.

A wait's common answer is "not yet"; the provider's error path costs a chain of exceptions per poll, which
``benchmarks/deferrable_waits.py`` measured at 500 concurrent waits.  Any other error still raises.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
import requests

from airbricks.errors import DatabricksRequestError
from airbricks.hooks import AirbricksDatabricksHook


def _put(local_ws, path: str, content: bytes) -> None:
    response = requests.post(
        f"{local_ws.url}/api/2.0/dbfs/put",
        timeout=10,
        headers={"Authorization": f"Bearer {local_ws.token}"},
        json={"path": path, "contents": base64.b64encode(content).decode(), "overwrite": True},
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/missing-ok/none/file", "/Volumes/main/raw/none/file"])
def test_missing_ok_answers_none_for_a_missing_file_or_directory(local_ws, create_volume, path: str) -> None:
    hook = AirbricksDatabricksHook()
    volume = path.startswith("/Volumes/")
    head = hook.files_head if volume else hook.dbfs_get_status
    listing = hook.files_list_directory if volume else hook.dbfs_list
    a_head = hook.a_files_head if volume else hook.a_dbfs_get_status
    a_listing = hook.a_files_list_directory if volume else hook.a_dbfs_list
    assert head(path, missing_ok=True) is None and listing(path, missing_ok=True) is None

    async def both() -> tuple[Any, Any]:
        return await a_head(path, missing_ok=True), await a_listing(path, missing_ok=True)

    assert asyncio.run(both()) == (None, None)
    folder = path.rsplit("/", 1)[0]
    if volume:
        create_volume("main.raw.none")  # a missing volume was "missing" too; a file needs the volume
        assert head(path, missing_ok=True) is None
        hook.files_upload(path, b"abc")
    else:
        _put(local_ws, path, b"abc")
    assert head(path, missing_ok=True)["file_size"] == 3
    assert [e["path"].rstrip("/") for e in listing(folder, missing_ok=True)] == [path]


def test_missing_ok_still_raises_any_other_error(local_ws) -> None:
    hook = AirbricksDatabricksHook()
    with pytest.raises(DatabricksRequestError, match=r"HTTP 400"):
        hook.files_head("/Volumes/only_catalog/file", missing_ok=True)
    with pytest.raises(DatabricksRequestError, match=r"HTTP 400"):
        asyncio.run(hook.a_files_list_directory("/Volumes/only_catalog", missing_ok=True))
    with pytest.raises(DatabricksRequestError) as missing:  # without missing_ok a missing file still raises
        asyncio.run(hook.a_dbfs_get_status("/missing-ok/never/there"))
    assert missing.value.is_not_found
