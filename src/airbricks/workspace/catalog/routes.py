"""HTTP for Unity Catalog (``/api/2.1/unity-catalog``): catalogs, schemas, volumes and tables.

Tables are the metastore's: those calls block on it (it may still be starting), so they run in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from airbricks.workspace.catalog.unity_catalog import UnityCatalog
from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.pagination import page_tokens, paginate
from airbricks.workspace.params import Params
from airbricks.workspace.server.http import Endpoint, Schema, call, page_offset, read_params, workspace
from airbricks.workspace.server.openapi import INT, STR, TAGS, enum

UC = "/api/2.1/unity-catalog"
#: The page length when ``max_results`` is 0 or absent (the server's own choice, as on Databricks).
DEFAULT_PAGE = 1000


def _page(items: list[dict[str, Any]], params: Params, key: str) -> dict[str, Any]:
    """One page: ``max_results`` (0: the server's length; negative: refused) and an offset ``page_token``."""
    size = params.int("max_results", default=0)
    if size < 0:
        raise InvalidParameterValue("max_results must be greater than or equal to 0.")
    page = paginate(items, page_offset(params), min(size or DEFAULT_PAGE, DEFAULT_PAGE))
    return {key: page.items, **page_tokens(page)}


def _changes(params: Params) -> dict[str, Any]:
    return {
        k: params.raw(k)
        for k in ("comment", "owner", "properties", "isolation_mode", "new_name")
        if params.raw(k) is not None
    }


def _object_rows(
    kind: str,
    key: str,
    get: Callable[[UnityCatalog, str], dict[str, Any]],
    update: Callable[[UnityCatalog, str, dict[str, Any]], dict[str, Any]],
    delete: Callable[[UnityCatalog, str, bool], None],
    *,
    force: bool,
    documented: Mapping[str, Mapping[str, Schema]],
) -> list[Endpoint]:
    """``GET``/``PATCH``/``DELETE {UC}/<kind>s/{<key>}``: read, update and delete one catalog, schema or volume
    (``force`` read where the API has it)."""

    async def get_object(request: Request) -> dict[str, Any]:
        return get(workspace(request).catalog, request.path_params[key])

    async def update_object(request: Request) -> dict[str, Any]:
        changes = _changes(await read_params(request))
        return update(workspace(request).catalog, request.path_params[key], changes)

    async def delete_object(request: Request) -> None:
        params = await read_params(request)
        delete(workspace(request).catalog, request.path_params[key], params.bool("force") if force else False)

    for handler, verb in ((get_object, "get"), (update_object, "update"), (delete_object, "delete")):
        handler.__name__ = f"{verb}_{kind}"
    path = f"{UC}/{kind}s/{{{key}}}"
    return [
        Endpoint("GET", path, get_object, fields=documented.get("GET")),
        Endpoint("PATCH", path, update_object, fields=documented.get("PATCH")),
        Endpoint("DELETE", path, delete_object, fields=documented.get("DELETE")),
    ]


def create_catalog(ws: Workspace, p: Params) -> dict[str, Any]:
    return ws.catalog.create_catalog(p.raw("name"), p.str("comment"), p.dict("properties"), p.str("storage_root"))


def create_schema(ws: Workspace, p: Params) -> dict[str, Any]:
    schema = ws.catalog.create_schema(
        p.raw("catalog_name"), p.raw("name"), p.str("comment"), p.dict("properties"), p.str("storage_root")
    )
    ws.tables.schema_created(schema)
    return schema


async def list_schemas(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    catalog = p.str("catalog_name", required=True)
    ws = workspace(request)
    await run_in_threadpool(ws.tables.adopt_databases)
    return _page(ws.catalog.list_schemas(catalog), p, "schemas")


def create_volume(ws: Workspace, p: Params) -> dict[str, Any]:
    return ws.catalog.create_volume(
        p.raw("catalog_name"),
        p.raw("schema_name"),
        p.raw("name"),
        p.raw("volume_type"),
        p.str("storage_location"),
        p.str("comment"),
    )


def list_volumes(ws: Workspace, p: Params) -> dict[str, Any]:
    found = ws.catalog.list_volumes(p.str("catalog_name", required=True), p.str("schema_name", required=True))
    return _page(found, p, "volumes")


async def list_tables(request: Request) -> dict[str, Any]:
    p = await read_params(request)
    catalog, schema = p.str("catalog_name", required=True), p.str("schema_name", required=True)
    return _page(await run_in_threadpool(workspace(request).tables.list, catalog, schema), p, "tables")


async def table_exists(request: Request) -> dict[str, Any]:
    tables = workspace(request).tables
    return {"table_exists": await run_in_threadpool(tables.exists, request.path_params["full_name"])}


async def get_table(request: Request) -> dict[str, Any]:
    return await run_in_threadpool(workspace(request).tables.get, request.path_params["full_name"])


async def delete_table(request: Request) -> None:
    await run_in_threadpool(workspace(request).tables.delete, request.path_params["full_name"])


_PAGE_FIELDS: dict[str, Schema] = {"max_results": INT, "page_token": STR}
_IN_SCHEMA: dict[str, Schema] = {"catalog_name": STR, "schema_name": STR, **_PAGE_FIELDS}

ROUTES: list[Endpoint] = [
    call(
        "POST",
        f"{UC}/catalogs",
        create_catalog,
        fields={"name": STR, "comment": STR, "properties": TAGS, "storage_root": STR},
        required=("name",),
    ),
    call("GET", f"{UC}/catalogs", lambda ws, p: _page(ws.catalog.list_catalogs(), p, "catalogs"), fields=_PAGE_FIELDS),
    *_object_rows(
        "catalog",
        "name",
        UnityCatalog.get_catalog,
        UnityCatalog.update_catalog,
        lambda uc, name, force: uc.delete_catalog(name, force=force),
        force=True,
        documented={"GET": {}, "PATCH": {"comment": STR, "new_name": STR}, "DELETE": {}},
    ),
    call(
        "POST",
        f"{UC}/schemas",
        create_schema,
        fields={"catalog_name": STR, "name": STR, "comment": STR},
        required=("catalog_name", "name"),
    ),
    Endpoint(
        "GET", f"{UC}/schemas", list_schemas, fields={"catalog_name": STR, **_PAGE_FIELDS}, required=("catalog_name",)
    ),
    *_object_rows(
        "schema",
        "full_name",
        UnityCatalog.get_schema,
        UnityCatalog.update_schema,
        lambda uc, name, force: uc.delete_schema(name, force=force),
        force=True,
        documented={"GET": {}, "DELETE": {}},
    ),
    call(
        "POST",
        f"{UC}/volumes",
        create_volume,
        fields={
            "catalog_name": STR,
            "schema_name": STR,
            "name": STR,
            "volume_type": enum("MANAGED", "EXTERNAL"),
            "storage_location": STR,
            "comment": STR,
        },
        required=("catalog_name", "schema_name", "name", "volume_type"),
    ),
    call("GET", f"{UC}/volumes", list_volumes, fields=_IN_SCHEMA, required=("catalog_name", "schema_name")),
    *_object_rows(
        "volume",
        "name",
        UnityCatalog.get_volume,
        UnityCatalog.update_volume,
        lambda uc, name, _force: uc.delete_volume(name),
        force=False,
        documented={},
    ),
    Endpoint("GET", f"{UC}/tables", list_tables, fields=_IN_SCHEMA, required=("catalog_name", "schema_name")),
    Endpoint("GET", f"{UC}/tables/{{full_name}}/exists", table_exists, fields={}),
    Endpoint("GET", f"{UC}/tables/{{full_name}}", get_table, fields={}),
    Endpoint("DELETE", f"{UC}/tables/{{full_name}}", delete_table, fields={}),
]
