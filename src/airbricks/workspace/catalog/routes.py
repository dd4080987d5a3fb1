"""HTTP for Unity Catalog (``/api/2.1/unity-catalog``): catalogs, schemas, volumes and tables."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.pagination import paginate
from airbricks.workspace.params import Params
from airbricks.workspace.server.http import page_offset, read_params, workspace

router = APIRouter()
UC = "/api/2.1/unity-catalog"
#: The page length when ``max_results`` is 0 or absent (the server's own choice, as on Databricks).
DEFAULT_PAGE = 1000


def _page(items: list[dict[str, Any]], params: Params, key: str) -> dict[str, Any]:
    """One page: ``max_results`` (0: the server's length; negative: refused) and an offset ``page_token``."""
    size = params.int("max_results", default=0)
    if size is not None and size < 0:
        raise InvalidParameterValue("max_results must be greater than or equal to 0.")
    page = paginate(items, page_offset(params), min(size or DEFAULT_PAGE, DEFAULT_PAGE))
    out: dict[str, Any] = {key: page.items}
    if page.next_offset is not None:
        out["next_page_token"] = str(page.next_offset)
    return out


def _changes(params: Params) -> dict[str, Any]:
    return {
        k: params.raw(k)
        for k in ("comment", "owner", "properties", "isolation_mode", "new_name")
        if params.raw(k) is not None
    }


# -- catalogs ----------------------------------------------------------------------------------------------------


@router.post(f"{UC}/catalogs")
async def create_catalog(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    return workspace(request).catalog.create_catalog(
        p.raw("name"), p.str("comment"), p.dict("properties"), p.str("storage_root")
    )


@router.get(f"{UC}/catalogs")
async def list_catalogs(request: Request) -> dict[str, Any]:
    return _page(workspace(request).catalog.list_catalogs(), await read_params(request), "catalogs")


def _object_routes(kind: str, key: str, force: bool) -> None:
    """``GET``/``PATCH``/``DELETE {UC}/<kind>s/{name}``: read, update and delete of one catalog, schema or volume
    (``delete_<kind>`` takes ``force`` where the API has it)."""

    def model(request: Request) -> Any:
        return workspace(request).catalog

    async def get(request: Request) -> dict[str, Any]:
        return getattr(model(request), f"get_{kind}")(request.path_params[key])

    async def update(request: Request) -> dict[str, Any]:
        return getattr(model(request), f"update_{kind}")(request.path_params[key], _changes(await read_params(request)))

    async def delete(request: Request) -> dict[str, Any]:
        params = await read_params(request)
        extra = {"force": params.bool("force")} if force else {}
        getattr(model(request), f"delete_{kind}")(request.path_params[key], **extra)
        return {}

    path = f"{UC}/{kind}s/{{{key}}}"
    router.add_api_route(path, get, methods=["GET"], name=f"get_{kind}")
    router.add_api_route(path, update, methods=["PATCH"], name=f"update_{kind}")
    router.add_api_route(path, delete, methods=["DELETE"], name=f"delete_{kind}")


_object_routes("catalog", "name", force=True)
_object_routes("schema", "full_name", force=True)
_object_routes("volume", "name", force=False)


# -- schemas -----------------------------------------------------------------------------------------------------


@router.post(f"{UC}/schemas")
async def create_schema(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    ws = workspace(request)
    schema = ws.catalog.create_schema(
        p.raw("catalog_name"), p.raw("name"), p.str("comment"), p.dict("properties"), p.str("storage_root")
    )
    ws.tables.schema_created(schema)
    return schema


@router.get(f"{UC}/schemas")
async def list_schemas(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    catalog = p.str("catalog_name", required=True)
    ws = workspace(request)
    if catalog == "main":
        await run_in_threadpool(ws.tables.adopt_databases)
    return _page(ws.catalog.list_schemas(catalog), p, "schemas")


# -- volumes -----------------------------------------------------------------------------------------------------


@router.post(f"{UC}/volumes")
async def create_volume(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    return workspace(request).catalog.create_volume(
        p.raw("catalog_name"),
        p.raw("schema_name"),
        p.raw("name"),
        p.raw("volume_type"),
        p.str("storage_location"),
        p.str("comment"),
    )


@router.get(f"{UC}/volumes")
async def list_volumes(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    found = workspace(request).catalog.list_volumes(
        p.str("catalog_name", required=True), p.str("schema_name", required=True)
    )
    return _page(found, p, "volumes")


# -- tables (the metastore's; blocking calls run in a worker thread) ---------------------------------------------


@router.get(f"{UC}/tables")
def list_tables(
    request: Request, catalog_name: str = "", schema_name: str = "", max_results: int = 0, page_token: str = ""
) -> dict[str, Any]:
    if not catalog_name or not schema_name:
        raise InvalidParameterValue(f"Missing required field: {'catalog_name' if not catalog_name else 'schema_name'}")
    params = Params({"max_results": max_results, "page_token": page_token})
    return _page(workspace(request).tables.list(catalog_name, schema_name), params, "tables")


@router.get(f"{UC}/tables/{{full_name}}/exists")
def table_exists(request: Request, full_name: str) -> dict[str, Any]:
    return {"table_exists": workspace(request).tables.exists(full_name)}


@router.get(f"{UC}/tables/{{full_name}}")
def get_table(request: Request, full_name: str) -> dict[str, Any]:
    return workspace(request).tables.get(full_name)


@router.delete(f"{UC}/tables/{{full_name}}")
def delete_table(request: Request, full_name: str) -> dict[str, Any]:
    workspace(request).tables.delete(full_name)
    return {}
