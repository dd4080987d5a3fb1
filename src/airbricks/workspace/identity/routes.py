"""HTTP for identity: SCIM ``Me``, ``Users``, ``Groups``, ``ServicePrincipals`` (``/api/2.0/preview/scim/v2``),
tokens minted by admins for other principals (``token-management``), and the caller of each request."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.identity.principals import KINDS, Principal
from airbricks.workspace.server.http import read_params, versioned, workspace

router = APIRouter()
SCIM = "/api/2.0/preview/scim/v2"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MAX_COUNT = 10_000


def caller(request: Request) -> Principal:
    """Who sent the request (set by the authentication layer)."""
    return request.state.principal


@router.get(f"{SCIM}/Me", include_in_schema=False)
async def me(request: Request) -> dict[str, Any]:
    return workspace(request).identity.me_view(caller(request))


def _resource(name: str) -> str:
    if name not in KINDS:
        raise InvalidParameterValue(f"Unknown SCIM resource type {name}: use Users, Groups or ServicePrincipals")
    return name


@router.get(SCIM + "/{resource}", include_in_schema=False)
async def list_resources(request: Request, resource: str) -> dict[str, Any]:
    """SCIM paging: ``startIndex`` is 1-based, ``count`` the page size (clients page until a short page)."""
    params = await read_params(request)
    found = workspace(request).identity.list(_resource(resource), filter_=params.str("filter"))
    start = params.int("startIndex", default=1, minimum=1) or 1
    count = min(params.int("count", default=MAX_COUNT, minimum=0) or 0, MAX_COUNT)  # SCIM: a server may cap it
    page = found[start - 1 : start - 1 + count]
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(found),
        "startIndex": start,
        "itemsPerPage": len(page),
        "Resources": page,
    }


@router.post(SCIM + "/{resource}", include_in_schema=False)
async def create_resource(request: Request, resource: str) -> Any:
    params = await read_params(request)
    doc = workspace(request).identity.create(caller(request), _resource(resource), params.data)
    return JSONResponse(doc, status_code=201)


@router.get(SCIM + "/{resource}/{ident}", include_in_schema=False)
async def get_resource(request: Request, resource: str, ident: str) -> dict[str, Any]:
    return workspace(request).identity.get(_resource(resource), ident)


@router.patch(SCIM + "/{resource}/{ident}", include_in_schema=False)
async def patch_resource(request: Request, resource: str, ident: str) -> Any:
    params = await read_params(request)
    workspace(request).identity.patch(caller(request), _resource(resource), ident, params.data)
    return Response(status_code=204)


@router.put(SCIM + "/{resource}/{ident}", include_in_schema=False)
async def replace_resource(request: Request, resource: str, ident: str) -> dict[str, Any]:
    params = await read_params(request)
    return workspace(request).identity.replace(caller(request), _resource(resource), ident, params.data)


@router.delete(SCIM + "/{resource}/{ident}", include_in_schema=False)
async def delete_resource(request: Request, resource: str, ident: str) -> Any:
    workspace(request).identity.delete(caller(request), _resource(resource), ident)
    return Response(status_code=204)


async def _mint(request: Request, resource: str, field: str, name_field: str, missing: str) -> dict[str, Any]:
    """A token for the principal whose ``field`` (``application_id``/``user_name``) the body names."""
    params = await read_params(request)
    identity = workspace(request).identity
    name = params.str(field, required=True) or ""
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


@versioned(router, ["POST"], "token-management/on-behalf-of/tokens", ("2.0",))
async def create_obo_token(request: Request) -> dict[str, Any]:
    """The real admin API: a token for a service principal, named by its ``application_id``."""
    return await _mint(
        request,
        "ServicePrincipals",
        "application_id",
        "applicationId",
        "Service principal with application id {name} does not exist.",
    )


@router.post("/api/2.0/airbricks/tokens", include_in_schema=False)
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


@versioned(router, ["GET"], "token-management/tokens", ("2.0",))
async def list_tokens(request: Request) -> dict[str, Any]:
    tokens = workspace(request).identity.list_tokens(caller(request))
    return {"token_infos": tokens} if tokens else {}


@router.delete("/api/2.0/token-management/tokens/{token_id}", include_in_schema=False)
async def delete_token(request: Request, token_id: str) -> dict[str, Any]:
    workspace(request).identity.delete_token(caller(request), token_id)
    return {}
