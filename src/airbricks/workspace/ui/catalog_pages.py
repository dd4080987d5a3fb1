"""The Catalog page: Unity Catalog's catalogs -> schemas -> tables and volumes, a table's columns and a sample.

Read from the workspace's Unity Catalog model (the data ``/api/2.1/unity-catalog/...`` answers). Tables live in
Spark's shared metastore (``main.<schema>.<table>`` is its ``<schema>.<table>``, see
:mod:`airbricks.workspace.catalog.tables`); a page view never starts it, nor any compute: without a running
metastore the page says why no tables are listed. A table's sample (first rows) runs as a statement on a SQL
warehouse that is already RUNNING, through the Statement Execution model (the same engine as
``/api/2.0/sql/statements``); with none running the page says to start one.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from airbricks.workspace.catalog.unity_catalog import DEFAULT_CATALOG
from airbricks.workspace.params import Params
from airbricks.workspace.ui.web import Page, page

SAMPLE_ROWS = 20
#: How long a page waits for its sample; a slower one is canceled and the page says so.
SAMPLE_WAIT_SECONDS = 15


def tables_unavailable(ws: Any) -> str | None:
    """None when tables can be read now; else why not (a page view never starts the metastore)."""
    engine = ws.clusters.engine
    if not getattr(engine, "runs_spark", False):
        return (
            "This workspace runs without Spark: tables live in Spark's metastore (start the workspace with "
            "Spark to see them)."
        )
    if engine.metastore_port(False) is None:
        return (
            "Spark's metastore is not running yet (it starts with the first Spark cluster, SQL warehouse or "
            "tables API call): no tables are listed."
        )
    return None


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


async def sample(ws: Any, table: dict[str, Any]) -> dict[str, Any]:
    """The first rows of ``table`` from a RUNNING warehouse, or ``{"why": ...}`` (``start`` when none runs)."""
    if not getattr(ws.clusters.engine, "runs_spark", False):
        return {"why": "No sample: this workspace runs without Spark."}
    running = [w for w in ws.warehouses.list() if w["state"] == "RUNNING"]
    if not running:
        return {"why": "start"}
    warehouse = running[0]
    text = f"SELECT * FROM {_quoted(table['schema_name'])}.{_quoted(table['name'])} LIMIT {SAMPLE_ROWS}"
    statement = ws.statements.submit(
        Params({"statement": text, "warehouse_id": warehouse["id"], "row_limit": SAMPLE_ROWS, "wait_timeout": "0s"})
    )
    finished = await asyncio.to_thread(statement.done.wait, SAMPLE_WAIT_SECONDS)
    try:
        if not finished:
            return {
                "why": f"The sample did not finish within {SAMPLE_WAIT_SECONDS} s on SQL warehouse "
                f"{warehouse['name']}: it was canceled.",
                "warehouse": warehouse,
            }
        if statement.state != "SUCCEEDED" or statement.result is None:
            error = statement.error or {}
            return {
                "why": f"The sample query failed ({statement.state}): {error.get('error_code', '')}: "
                f"{error.get('message', '')}",
                "warehouse": warehouse,
            }
        result = statement.result
        return {
            "columns": [c["name"] for c in result.columns],
            "rows": result.text_rows()[:SAMPLE_ROWS],
            "warehouse": warehouse,
            "query": text,
        }
    finally:
        ws.statements.close(statement.id)  # cancels a late one, frees the result


@page
async def catalogs_page(request: Request, ws: Any) -> Page:
    return Page("catalog.html", {"nav": "catalog", "level": "catalogs", "catalogs": ws.catalog.list_catalogs()})


@page
async def catalog_page(request: Request, ws: Any) -> Page:
    catalog = ws.catalog.get_catalog(request.path_params["catalog"])
    why = tables_unavailable(ws)
    if catalog["name"] == DEFAULT_CATALOG and why is None:
        ws.tables.adopt_databases()  # schemas Spark created (CREATE SCHEMA) show as they do in schemas/list
    return Page(
        "catalog.html",
        {"nav": "catalog", "level": "catalog", "catalog": catalog, "schemas": ws.catalog.list_schemas(catalog["name"])},
    )


@page
async def schema_page(request: Request, ws: Any) -> Page:
    params = request.path_params
    why = tables_unavailable(ws)
    if why is None:  # lists the tables and adopts a schema Spark created meanwhile
        tables = ws.tables.list(params["catalog"], params["schema"])
    else:
        tables = []
    schema = ws.catalog.get_schema(f"{params['catalog']}.{params['schema']}")
    if schema["catalog_name"] != DEFAULT_CATALOG:
        why = f"Only the catalog {DEFAULT_CATALOG} holds tables here ({DEFAULT_CATALOG}.<schema> is Spark's <schema>)."
    return Page(
        "catalog.html",
        {
            "nav": "catalog",
            "level": "schema",
            "schema": schema,
            "tables": tables,
            "tables_why": why,
            "volumes": ws.catalog.list_volumes(schema["catalog_name"], schema["name"]),
        },
    )


@page
async def table_page(request: Request, ws: Any) -> Page:
    params = request.path_params
    schema = ws.catalog.get_schema(f"{params['catalog']}.{params['schema']}")
    why = tables_unavailable(ws)
    values: dict[str, Any] = {
        "nav": "catalog",
        "level": "table",
        "schema": schema,
        "name": params["table"],
        "tables_why": why,
    }
    if why is None:
        values["table"] = table = ws.tables.get(f"{schema['full_name']}.{params['table']}")
        values["sample"] = await sample(ws, table)
    return Page("catalog.html", values)


async def explore(request: Request) -> Response:
    """``/explore/data/<catalog>/<schema>/<table>`` (Catalog Explorer's links) -> the Catalog page."""
    rest = request.path_params.get("path", "").strip("/")
    return RedirectResponse("/ui/catalog" + (f"/{rest}" if rest else ""), status_code=303)


routes = [
    Route("/ui/catalog", catalogs_page),
    Route("/ui/catalog/{catalog}", catalog_page),
    Route("/ui/catalog/{catalog}/{schema}", schema_page),
    Route("/ui/catalog/{catalog}/{schema}/{table}", table_page),
    Route("/explore/data", explore),
    Route("/explore/data/{path:path}", explore),
]
