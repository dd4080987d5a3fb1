"""HTTP for the Secrets API (``/api/2.0/secrets/...``): scopes, secrets and ACLs, as the calling principal.

Each endpoint is one row of :data:`ROUTES`: which model call a path makes with which parameters, and how its
answer is shaped (lists answer ``{}`` when empty, as the real service does).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.identity.principals import Principal
from airbricks.workspace.identity.routes import caller
from airbricks.workspace.params import Params
from airbricks.workspace.server.http import Endpoint, Schema, read_params, workspace
from airbricks.workspace.server.openapi import STR, enum

#: 128 KB of value, base64-encoded, plus the other fields.
_BODY_LIMIT = 256 * 1024

Call = Callable[[Workspace, Principal, Params], "dict[str, Any] | None"]


def _listed(key: str, items: list[Any]) -> dict[str, Any]:
    return {key: items} if items else {}


def _bytes_value(p: Params) -> bytes | None:
    raw = p.raw("bytes_value")
    if raw is None:
        return None
    try:
        return base64.b64decode(str(raw), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameterValue("Invalid value for field 'bytes_value': it is not valid base64") from None


def _get(ws: Workspace, who: Principal, p: Params) -> dict[str, Any]:
    """The value, base64-encoded; a task run's process reading it gets it redacted from the run's outputs."""
    value = ws.secrets.get(who, p.raw("scope"), p.raw("key"))
    ws.run_identity.note_read(who.task_run_id, value)
    return {"key": p.raw("key"), "value": base64.b64encode(value).decode()}


def _row(
    method: str,
    suffix: str,
    fn: Call,
    fields: Mapping[str, Schema] | None = None,
    required: tuple[str, ...] = (),
) -> Endpoint:
    """``method /api/2.0/secrets/<suffix>``: ``fn(workspace, caller, params)``, the body at most 256 KB."""

    async def handler(request: Request) -> dict[str, Any] | None:
        return fn(workspace(request), caller(request), await read_params(request, _BODY_LIMIT))

    handler.__name__ = "secrets_" + suffix.replace("/", "_")
    return Endpoint(method, f"/api/2.0/secrets/{suffix}", handler, fields=fields, required=required)


_SCOPE: dict[str, Schema] = {"scope": STR}
_SECRET: dict[str, Schema] = {"scope": STR, "key": STR}

ROUTES: list[Endpoint] = [
    _row(
        "POST",
        "scopes/create",
        lambda ws, who, p: ws.secrets.create_scope(
            who,
            p.raw("scope"),
            initial_manage_principal=p.str("initial_manage_principal"),
            backend_type=p.str("scope_backend_type"),
        ),
        {"scope": STR, "initial_manage_principal": STR},
        ("scope",),
    ),
    _row("GET", "scopes/list", lambda ws, who, p: _listed("scopes", ws.secrets.list_scopes()), {}),
    _row("POST", "scopes/delete", lambda ws, who, p: ws.secrets.delete_scope(who, p.raw("scope")), _SCOPE, ("scope",)),
    _row(
        "POST",
        "put",
        lambda ws, who, p: ws.secrets.put(
            who, p.raw("scope"), p.raw("key"), string_value=p.raw("string_value"), bytes_value=_bytes_value(p)
        ),
        {**_SECRET, "string_value": STR, "bytes_value": STR},
        ("scope", "key"),
    ),
    _row(
        "POST",
        "delete",
        lambda ws, who, p: ws.secrets.delete(who, p.raw("scope"), p.raw("key")),
        _SECRET,
        ("scope", "key"),
    ),
    _row(
        "GET",
        "list",
        lambda ws, who, p: _listed("secrets", ws.secrets.list(who, p.raw("scope"))),
        _SCOPE,
        ("scope",),
    ),
    _row("GET", "get", _get, _SECRET, ("scope", "key")),
    _row(
        "POST",
        "acls/put",
        lambda ws, who, p: ws.secrets.put_acl(who, p.raw("scope"), p.raw("principal"), p.raw("permission")),
        {"scope": STR, "principal": STR, "permission": enum("READ", "WRITE", "MANAGE")},
        ("scope", "principal", "permission"),
    ),
    _row("POST", "acls/delete", lambda ws, who, p: ws.secrets.delete_acl(who, p.raw("scope"), p.raw("principal"))),
    _row("GET", "acls/get", lambda ws, who, p: ws.secrets.get_acl(who, p.raw("scope"), p.raw("principal"))),
    _row(
        "GET",
        "acls/list",
        lambda ws, who, p: _listed("items", ws.secrets.list_acls(who, p.raw("scope"))),
        _SCOPE,
        ("scope",),
    ),
]
