"""workspace-conf through the unmodified SDK (``w.workspace_conf``), across a restart of ``airbricks serve``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import InvalidParameterValue

TOKEN = "dapi-workspace-conf-test-token"


def test_set_and_get_survive_a_restart(tmp_path: Path, serve_process: Any) -> None:
    data = tmp_path / "data"
    server = serve_process(data, "--token", TOKEN)
    w = WorkspaceClient(host=server.url, token=TOKEN, auth_type="pat")
    w.workspace_conf.set_status({"enableTokensConfig": "true", "maxTokenLifetimeDays": "30"})
    with pytest.raises(InvalidParameterValue, match=r'Invalid keys: \["enableByocUi"\]'):
        w.workspace_conf.set_status({"enableByocUi": "true"})
    with pytest.raises(InvalidParameterValue, match=r'Invalid keys: \["enableByocUi"\]'):
        w.workspace_conf.get_status(keys="enableTokensConfig,enableByocUi")
    server.stop()
    server = serve_process(data, "--token", TOKEN)
    w = WorkspaceClient(host=server.url, token=TOKEN, auth_type="pat")
    assert w.workspace_conf.get_status(keys="enableTokensConfig,maxTokenLifetimeDays,enableIpAccessLists") == {
        "enableTokensConfig": "true",
        "maxTokenLifetimeDays": "30",
        "enableIpAccessLists": None,
    }
