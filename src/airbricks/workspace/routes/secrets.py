"""HTTP for the Secrets API (``/api/2.0/secrets/...``): scopes, secrets and ACLs, as the calling principal."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Request

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.routes import read_params, versioned, workspace
from airbricks.workspace.routes.identity import caller

router = APIRouter()
VERSIONS = ("2.0",)
#: 128 KB of value, base64-encoded, plus the other fields.
_BODY_LIMIT = 256 * 1024


@versioned(router, ["POST"], "secrets/scopes/create", VERSIONS)
async def create_scope(request: Request) -> dict[str, Any]:
    p = await read_params(request, _BODY_LIMIT)
    workspace(request).secrets.create_scope(caller(request), p.raw("scope"),
                                            initial_manage_principal=p.str("initial_manage_principal"),
                                            backend_type=p.str("scope_backend_type"))
    return {}


@versioned(router, ["GET"], "secrets/scopes/list", VERSIONS)
async def list_scopes(request: Request) -> dict[str, Any]:
    scopes = workspace(request).secrets.list_scopes()
    return {"scopes": scopes} if scopes else {}


@versioned(router, ["POST"], "secrets/scopes/delete", VERSIONS)
async def delete_scope(request: Request) -> dict[str, Any]:
    p = await read_params(request, _BODY_LIMIT)
    workspace(request).secrets.delete_scope(caller(request), p.raw("scope"))
    return {}


@versioned(router, ["POST"], "secrets/put", VERSIONS)
async def put_secret(request: Request) -> dict[str, Any]:
    p = await read_params(request, _BODY_LIMIT)
    raw = p.raw("bytes_value")
    data = None
    if raw is not None:
        try:
            data = base64.b64decode(str(raw), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParameterValue("Invalid value for field 'bytes_value': it is not valid base64") from None
    workspace(request).secrets.put(caller(request), p.raw("scope"), p.raw("key"),
                                   string_value=p.raw("string_value"), bytes_value=data)
    return {}


@versioned(router, ["POST"], "secrets/delete", VERSIONS)
async def delete_secret(request: Request) -> dict[str, Any]:
    p = await read_params(request, _BODY_LIMIT)
    workspace(request).secrets.delete(caller(request), p.raw("scope"), p.raw("key"))
    return {}


@versioned(router, ["GET"], "secrets/list", VERSIONS)
async def list_secrets(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    found = workspace(request).secrets.list(caller(request), p.raw("scope"))
    return {"secrets": found} if found else {}


@versioned(router, ["GET"], "secrets/get", VERSIONS)
async def get_secret(request: Request) -> dict[str, Any]:
    """The value, base64-encoded. A task run's process reading it (its run token) gets it redacted from the
    run's outputs."""
    p = await read_params(request)
    ws, who = workspace(request), caller(request)
    value = ws.secrets.get(who, p.raw("scope"), p.raw("key"))
    ws.run_identity.note_read(who.task_run_id, value)
    return {"key": p.raw("key"), "value": base64.b64encode(value).decode()}


@versioned(router, ["POST"], "secrets/acls/put", VERSIONS)
async def put_acl(request: Request) -> dict[str, Any]:
    p = await read_params(request, _BODY_LIMIT)
    workspace(request).secrets.put_acl(caller(request), p.raw("scope"), p.raw("principal"), p.raw("permission"))
    return {}


@versioned(router, ["POST"], "secrets/acls/delete", VERSIONS)
async def delete_acl(request: Request) -> dict[str, Any]:
    p = await read_params(request, _BODY_LIMIT)
    workspace(request).secrets.delete_acl(caller(request), p.raw("scope"), p.raw("principal"))
    return {}


@versioned(router, ["GET"], "secrets/acls/get", VERSIONS)
async def get_acl(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    return workspace(request).secrets.get_acl(caller(request), p.raw("scope"), p.raw("principal"))


@versioned(router, ["GET"], "secrets/acls/list", VERSIONS)
async def list_acls(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    items = workspace(request).secrets.list_acls(caller(request), p.raw("scope"))
    return {"items": items} if items else {}
