"""The workspace-conf model, no HTTP: documented keys only, string values checked, one bad entry changes nothing."""

from __future__ import annotations

import pytest

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue


def test_documented_keys_round_trip_as_strings(ws: Workspace) -> None:
    conf = ws.workspace_conf
    assert conf.get("enableTokensConfig,maxTokenLifetimeDays") == {
        "enableTokensConfig": None,
        "maxTokenLifetimeDays": None,
    }
    conf.set({"enableTokensConfig": "true", "maxTokenLifetimeDays": "90", "enable-X-Frame-Options": "false"})
    assert conf.get(" enableTokensConfig , maxTokenLifetimeDays,enable-X-Frame-Options") == {
        "enableTokensConfig": "true",
        "maxTokenLifetimeDays": "90",
        "enable-X-Frame-Options": "false",
    }
    conf.set({"maxTokenLifetimeDays": ""})  # no limit
    assert conf.get("maxTokenLifetimeDays") == {"maxTokenLifetimeDays": ""}


def test_unknown_keys_and_bad_values_are_refused_and_change_nothing(ws: Workspace) -> None:
    conf = ws.workspace_conf
    with pytest.raises(InvalidParameterValue, match=r'^Invalid keys: \["enableByocUi", "nope"\]$'):
        conf.get("enableTokensConfig,enableByocUi,nope")
    with pytest.raises(InvalidParameterValue, match=r'^Invalid keys: \["nope"\]$'):
        conf.set({"enableWebTerminal": "true", "nope": "1"})
    with pytest.raises(
        InvalidParameterValue, match='Invalid value for enableWebTerminal: "yes". Use "true" or "false"'
    ):
        conf.set({"enableExportNotebook": "false", "enableWebTerminal": "yes"})
    with pytest.raises(InvalidParameterValue, match="Workspace-conf values are strings"):
        conf.set({"enableWebTerminal": True})
    with pytest.raises(InvalidParameterValue, match="whole number of days"):
        conf.set({"maxTokenLifetimeDays": "-3"})
    with pytest.raises(InvalidParameterValue, match="Missing required field: keys"):
        conf.get(" , ")
    assert conf.get("enableWebTerminal,enableExportNotebook") == {
        "enableWebTerminal": None,
        "enableExportNotebook": None,
    }
