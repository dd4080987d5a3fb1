"""Workspace configuration (``/api/2.0/workspace-conf``, the SDK's ``w.workspace_conf``): the admin toggles
Databricks documents (``enableTokensConfig``, ``maxTokenLifetimeDays``, ``enableIpAccessLists``, ...), as strings.

Only documented keys are taken: any other is refused as Databricks refuses it (``Invalid keys: ["x"]``), so a
script or Terraform plan that works here names keys the real service knows. Values are strings, as the API
carries them: ``"true"``/``"false"`` for the boolean toggles, a whole number of days (or ``""``, no limit) for
``maxTokenLifetimeDays``. A key never set reads as ``null``. Only workspace admins change them, as on
Databricks. Kept in the store, so they survive a restart. The local workspace records them; it does not
act on them (no IP filtering, no token lifetime enforcement).
"""

from __future__ import annotations

import json
from typing import Any

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.identity.principals import Principal, require_admin
from airbricks.workspace.shared import Shared

KIND = "workspace_conf"
#: The boolean toggles Databricks documents for workspace-conf.
BOOLEAN_KEYS = (
    "enableTokensConfig",
    "enableIpAccessLists",
    "enableDbfsFileBrowser",
    "enableWebTerminal",
    "enableExportNotebook",
    "enableNotebookTableClipboard",
    "enableResultsDownloading",
    "enableUploadDataUis",
    "enableDeprecatedGlobalInitScripts",
    "enableDeprecatedClusterNamedInitScripts",
    "enableProjectTypeInWorkspace",
    "enableWorkspaceFilesystem",
    "enableVerboseAuditLogs",
    "enableHlsRuntime",
    "enableEnforceImdsV2",
    "enableJobViewAcls",
    "enforceUserIsolation",
    "enableGp3",
    "enableFileStoreEndpoint",
    "storeInteractiveNotebookResultsInCustomerAccount",
    "mlflowRunArtifactDownloadEnabled",
    "mlflowModelServingEndpointCreationEnabled",
    "enable-X-Frame-Options",
    "enable-X-Content-Type-Options",
    "enable-X-XSS-Protection",
)
#: Keys whose value is a whole number (``""``: unset).
NUMBER_KEYS = ("maxTokenLifetimeDays",)
KEYS = (*BOOLEAN_KEYS, *NUMBER_KEYS)


def _invalid_keys(keys: list[str]) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid keys: {json.dumps(keys)}")


class WorkspaceConf:
    """The documented workspace-conf keys' values; raises ``errors.*`` with the API's codes and texts."""

    def __init__(self, shared: Shared) -> None:
        self.shared = shared

    def get(self, keys: str) -> dict[str, str | None]:
        """``keys``: comma-separated names (``enableTokensConfig,maxTokenLifetimeDays``) -> their values."""
        names = [k.strip() for k in keys.split(",") if k.strip()]
        if not names:
            raise InvalidParameterValue("Missing required field: keys (comma-separated workspace-conf keys)")
        unknown = [k for k in names if k not in KEYS]
        if unknown:
            raise _invalid_keys(unknown)
        out: dict[str, str | None] = {}
        for name in names:
            doc = self.shared.store.get(KIND, name)
            out[name] = None if doc is None else str(doc["value"])
        return out

    def set(self, caller: Principal, contents: dict[str, Any]) -> None:
        """Set every key of ``contents`` (all checked first: one bad key or value changes nothing); admins only."""
        require_admin(caller, "change the workspace configuration (workspace-conf)")
        unknown = [k for k in contents if k not in KEYS]
        if unknown:
            raise _invalid_keys(unknown)
        for key, value in contents.items():
            _check_value(key, value)
        with self.shared.lock:
            for key, value in contents.items():
                self.shared.store.put(KIND, key, {"value": value})


def _check_value(key: str, value: object) -> None:
    if not isinstance(value, str):
        raise InvalidParameterValue(
            f"Invalid value for {key}: {json.dumps(value)}. Workspace-conf values are strings"
            f' (e.g. "{key}": "{"30" if key in NUMBER_KEYS else "true"}").'
        )
    if key in BOOLEAN_KEYS and value not in ("true", "false"):
        raise InvalidParameterValue(f'Invalid value for {key}: "{value}". Use "true" or "false".')
    if key in NUMBER_KEYS and value != "" and not (value.isdigit() and int(value) > 0):
        raise InvalidParameterValue(
            f'Invalid value for {key}: "{value}". Use a whole number of days greater than 0, or "" for no limit.'
        )
