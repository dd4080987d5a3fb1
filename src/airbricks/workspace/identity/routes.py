"""HTTP for identity: SCIM ``Me``, ``Users``, ``Groups``, ``ServicePrincipals`` (``/api/2.0/preview/scim/v2``),
tokens minted by admins for other principals (``token-management``), and the caller of each request.

Each SCIM resource type has its own rows (so the description shows ``/Users/{id}``); a path naming any other
resource type answers SCIM's error for it rather than "no such endpoint", as before.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import JSONResponse, Response

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.identity.principals import KINDS, Principal
from airbricks.workspace.server.http import Endpoint, Schema, read_params, workspace
from airbricks.workspace.server.openapi import BOOL, INT, STR, STRS, array, obj

SCIM = "/api/2.0/preview/scim/v2"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MAX_COUNT = 10_000


def caller(request: Request) -> Principal:
    """Who sent the request (set by the authentication layer)."""
    return request.state.principal


async def me(request: Request) -> dict[str, Any]:
    return workspace(request).identity.me_view(caller(request))


def _resource(request: Request) -> str:
    """The resource type a path names (``Users``...): the rows of a known type fix it, the catch-all reads it."""
    name = request.path_params.get("resource") or request.url.path.removeprefix(SCIM + "/").split("/")[0]
    if name not in KINDS:
        raise InvalidParameterValue(f"Unknown SCIM resource type {name}: use Users, Groups or ServicePrincipals")
    return name


async def list_resources(request: Request) -> dict[str, Any]:
    """SCIM paging: ``startIndex`` is 1-based, ``count`` the page size (clients page until a short page)."""
    params = await read_params(request)
    resource = _resource(request)
    found = workspace(request).identity.list(resource, filter_=params.str("filter"))
    start = params.int("startIndex", default=1, minimum=1)
    count = min(params.int("count", default=MAX_COUNT, minimum=0), MAX_COUNT)  # SCIM: a server may cap it
    page = found[start - 1 : start - 1 + count]
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(found),
        "startIndex": start,
        "itemsPerPage": len(page),
        "Resources": page,
    }


async def create_resource(request: Request) -> Any:
    params = await read_params(request)
    resource = _resource(request)
    doc = workspace(request).identity.create(caller(request), resource, params.data)
    return JSONResponse(doc, status_code=201)


async def get_resource(request: Request) -> dict[str, Any]:
    return workspace(request).identity.get(_resource(request), request.path_params["id"])


async def patch_resource(request: Request) -> Any:
    params = await read_params(request)
    resource = _resource(request)
    workspace(request).identity.patch(caller(request), resource, request.path_params["id"], params.data)
    return Response(status_code=204)


async def replace_resource(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    resource = _resource(request)
    return workspace(request).identity.replace(caller(request), resource, request.path_params["id"], params.data)


async def delete_resource(request: Request) -> Any:
    workspace(request).identity.delete(caller(request), _resource(request), request.path_params["id"])
    return Response(status_code=204)


async def _mint(request: Request, resource: str, field: str, name_field: str, missing: str) -> dict[str, Any]:
    """A token for the principal whose ``field`` (``application_id``/``user_name``) the body names."""
    params = await read_params(request)
    identity = workspace(request).identity
    name = params.str(field, required=True)
    owner = next((d for d in identity.list(resource) if d[name_field] == name), None)
    if owner is None:
        raise InvalidParameterValue(missing.format(name=name))
    value, info = identity.mint_token(
        caller(request),
        resource=resource,
        principal_id=owner["id"],
        lifetime_seconds=params.int("lifetime_seconds"),
        comment=params.str("comment"),
    )
    return {"token_info": info, "token_value": value}


async def create_obo_token(request: Request) -> dict[str, Any]:
    """The real admin API: a token for a service principal, named by its ``application_id``."""
    return await _mint(
        request,
        "ServicePrincipals",
        "application_id",
        "applicationId",
        "Service principal with application id {name} does not exist.",
    )


async def create_user_token(request: Request) -> dict[str, Any]:
    """The local workspace's own admin API: a token for a SCIM user (``user_name``), so a test can act as a
    second user. On Databricks only that user's own login can make one."""
    return await _mint(
        request,
        "Users",
        "user_name",
        "userName",
        "User {name} does not exist: create it with POST " + SCIM + "/Users first.",
    )


async def list_tokens(request: Request) -> dict[str, Any]:
    tokens = workspace(request).identity.list_tokens(caller(request))
    return {"token_infos": tokens} if tokens else {}


async def delete_token(request: Request) -> dict[str, Any]:
    workspace(request).identity.delete_token(caller(request), request.path_params["token_id"])
    return {}


_LIST_FIELDS: dict[str, Schema] = {"filter": STR, "startIndex": INT, "count": INT}
#: The fields the description shows per resource type and operation (as documented before; None: undocumented).
_DOCUMENTED: dict[str, dict[str, dict[str, Schema]]] = {
    "Users": {
        "list": _LIST_FIELDS,
        "create": {"userName": STR, "displayName": STR},
        "get": {},
        "replace": {"displayName": STR, "active": BOOL, "userName": STR},
        "patch": {"schemas": STRS, "Operations": array(obj(op=STR, path=STR, value={}))},
    },
    "Groups": {"list": _LIST_FIELDS},
}


def _scim_rows(resource: str) -> list[Endpoint]:
    """The six rows of one SCIM resource type (``{resource}``: the catch-all for unknown types)."""
    docs = _DOCUMENTED.get(resource, {})
    base, item = f"{SCIM}/{resource}", f"{SCIM}/{resource}/{{id}}"
    required = ("userName",) if resource == "Users" else ()
    return [
        Endpoint("GET", base, list_resources, fields=docs.get("list")),
        Endpoint("POST", base, create_resource, fields=docs.get("create"), required=required),
        Endpoint("GET", item, get_resource, fields=docs.get("get")),
        Endpoint("PATCH", item, patch_resource, fields=docs.get("patch")),
        Endpoint("PUT", item, replace_resource, fields=docs.get("replace")),
        Endpoint("DELETE", item, delete_resource),
    ]


ROUTES: list[Endpoint] = [
    Endpoint("GET", f"{SCIM}/Me", me, fields={}),
    *(row for resource in KINDS for row in _scim_rows(resource)),
    *_scim_rows("{resource}"),
    Endpoint("POST", "/api/2.0/token-management/on-behalf-of/tokens", create_obo_token),
    Endpoint("POST", "/api/2.0/airbricks/tokens", create_user_token),
    Endpoint("GET", "/api/2.0/token-management/tokens", list_tokens),
    Endpoint("DELETE", "/api/2.0/token-management/tokens/{token_id}", delete_token),
]
