"""The workspace-conf model, no HTTP: documented keys only, string values checked, one bad entry changes nothing."""

from __future__ import annotations

import pytest

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue, PermissionDenied
from airbricks.workspace.identity.principals import Principal

ADMIN = Principal("1", "admin@example.com", "user", frozenset({"users", "admins"}))
USER = Principal("2", "someone@example.com", "user", frozenset({"users"}))


def test_documented_keys_round_trip_as_strings(ws: Workspace) -> None:
    conf = ws.workspace_conf
    assert conf.get("enableTokensConfig,maxTokenLifetimeDays") == {
        "enableTokensConfig": None,
        "maxTokenLifetimeDays": None,
    }
    conf.set(ADMIN, {"enableTokensConfig": "true", "maxTokenLifetimeDays": "90", "enable-X-Frame-Options": "false"})
    assert conf.get(" enableTokensConfig , maxTokenLifetimeDays,enable-X-Frame-Options") == {
        "enableTokensConfig": "true",
        "maxTokenLifetimeDays": "90",
        "enable-X-Frame-Options": "false",
    }
    conf.set(ADMIN, {"maxTokenLifetimeDays": ""})  # no limit
    assert conf.get("maxTokenLifetimeDays") == {"maxTokenLifetimeDays": ""}


def test_unknown_keys_and_bad_values_are_refused_and_change_nothing(ws: Workspace) -> None:
    conf = ws.workspace_conf
    with pytest.raises(InvalidParameterValue, match=r'^Invalid keys: \["enableByocUi", "nope"\]$'):
        conf.get("enableTokensConfig,enableByocUi,nope")
    with pytest.raises(InvalidParameterValue, match=r'^Invalid keys: \["nope"\]$'):
        conf.set(ADMIN, {"enableWebTerminal": "true", "nope": "1"})
    with pytest.raises(
        InvalidParameterValue, match='Invalid value for enableWebTerminal: "yes". Use "true" or "false"'
    ):
        conf.set(ADMIN, {"enableExportNotebook": "false", "enableWebTerminal": "yes"})
    with pytest.raises(InvalidParameterValue, match="Workspace-conf values are strings"):
        conf.set(ADMIN, {"enableWebTerminal": True})
    with pytest.raises(InvalidParameterValue, match="whole number of days"):
        conf.set(ADMIN, {"maxTokenLifetimeDays": "-3"})
    with pytest.raises(InvalidParameterValue, match="Missing required field: keys"):
        conf.get(" , ")
    with pytest.raises(PermissionDenied, match="Only workspace admins can change the workspace configuration"):
        conf.set(USER, {"enableWebTerminal": "true"})
    assert conf.get("enableWebTerminal,enableExportNotebook") == {
        "enableWebTerminal": None,
        "enableExportNotebook": None,
    }
