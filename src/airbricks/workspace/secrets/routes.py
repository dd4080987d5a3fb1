"""HTTP for the Secrets API (``/api/2.0/secrets/...``): scopes, secrets and ACLs, as the calling principal.

Each endpoint is one line of :data:`ENDPOINTS`: which model call a path makes with which parameters, and how
its answer is shaped (lists answer ``{}`` when empty, as the real service does).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.identity.principals import Principal
from airbricks.workspace.identity.routes import caller
from airbricks.workspace.params import Params
from airbricks.workspace.server.http import read_params, versioned, workspace

router = APIRouter()
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


ENDPOINTS: list[tuple[str, str, Call]] = [
    (
        "POST",
        "scopes/create",
        lambda ws, who, p: ws.secrets.create_scope(
            who,
            p.raw("scope"),
            initial_manage_principal=p.str("initial_manage_principal"),
            backend_type=p.str("scope_backend_type"),
        ),
    ),
    ("GET", "scopes/list", lambda ws, who, p: _listed("scopes", ws.secrets.list_scopes())),
    ("POST", "scopes/delete", lambda ws, who, p: ws.secrets.delete_scope(who, p.raw("scope"))),
    (
        "POST",
        "put",
        lambda ws, who, p: ws.secrets.put(
            who, p.raw("scope"), p.raw("key"), string_value=p.raw("string_value"), bytes_value=_bytes_value(p)
        ),
    ),
    ("POST", "delete", lambda ws, who, p: ws.secrets.delete(who, p.raw("scope"), p.raw("key"))),
    ("GET", "list", lambda ws, who, p: _listed("secrets", ws.secrets.list(who, p.raw("scope")))),
    ("GET", "get", _get),
    (
        "POST",
        "acls/put",
        lambda ws, who, p: ws.secrets.put_acl(who, p.raw("scope"), p.raw("principal"), p.raw("permission")),
    ),
    ("POST", "acls/delete", lambda ws, who, p: ws.secrets.delete_acl(who, p.raw("scope"), p.raw("principal"))),
    ("GET", "acls/get", lambda ws, who, p: ws.secrets.get_acl(who, p.raw("scope"), p.raw("principal"))),
    ("GET", "acls/list", lambda ws, who, p: _listed("items", ws.secrets.list_acls(who, p.raw("scope")))),
]


def _register(method: str, suffix: str, call: Call) -> None:
    async def endpoint(request: Request) -> dict[str, Any] | None:
        return call(workspace(request), caller(request), await read_params(request, _BODY_LIMIT))

    endpoint.__name__ = "secrets_" + suffix.replace("/", "_")
    versioned(router, [method], f"secrets/{suffix}", ("2.0",))(endpoint)


for _method, _suffix, _call in ENDPOINTS:
    _register(_method, _suffix, _call)
