"""An OpenAPI 3 description of the endpoints the local workspace serves, generated from the route tables.

The routes read JSON themselves (clients send GET parameters as a query string or a body, numbers as
strings), so FastAPI's generated schema has no request bodies. Each row of a service's route table
(:class:`~airbricks.workspace.server.http.Endpoint`) declares its request fields once; this turns the rows that
declare them into the description fuzzers (schemathesis, in ``tests/workspace/server/test_fuzz.py``) read at
``/api/2.0/airbricks/openapi.json``. It describes, it does not validate: the models do that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from airbricks.workspace.server.http import Endpoint

# Shorthands for the route tables' field declarations.
STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer", "format": "int64"}
BOOL: dict[str, Any] = {"type": "boolean"}
OBJ: dict[str, Any] = {"type": "object"}
STRS: dict[str, Any] = {"type": "array", "items": STR}
TAGS: dict[str, Any] = {"type": "object", "additionalProperties": STR}


def enum(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def obj(**properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema with these properties (none required)."""
    return {"type": "object", "properties": properties}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


_ERROR = {"type": "object", "required": ["error_code", "message"], "properties": {"error_code": STR, "message": STR}}
_PATH_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


def _responses(ok: dict[str, Any] | None = None) -> dict[str, Any]:
    error = {"description": "A Databricks error", "content": {"application/json": {"schema": _ERROR}}}
    return {
        "200": {"description": "OK", "content": {"application/json": {"schema": ok or OBJ}}},
        **{code: error for code in ("400", "401", "403", "404", "409", "429")},
    }


def _operation(row: Endpoint) -> dict[str, Any]:
    """One method of one path: its query parameters or request body, from the row's fields."""
    fields = dict(row.fields or {})
    operation: dict[str, Any] = {"responses": _responses()}
    if row.body == "binary":
        operation["requestBody"] = {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
        no_body = {k: v for k, v in operation["responses"].items() if k != "200"}
        operation["responses"] = {"204": {"description": "Done"}, **no_body}
    if row.method in ("GET", "DELETE") or row.body != "json":
        if fields:
            operation["parameters"] = [
                {"name": name, "in": "query", "required": name in row.required, "schema": schema}
                for name, schema in fields.items()
            ]
    elif fields or row.method != "DELETE":
        body: dict[str, Any] = {"type": "object", "properties": fields}
        if row.required:
            body["required"] = list(row.required)
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def build_spec(table: Iterable[Endpoint]) -> dict[str, Any]:
    """The OpenAPI document of the rows that declare their fields (a fresh dict each time: callers may mutate it)."""
    paths: dict[str, Any] = {}
    for row in table:
        if row.fields is None:
            continue
        path = row.documented_path()
        names = _PATH_PARAM.findall(path)
        item = paths.setdefault(_PATH_PARAM.sub(r"{\1}", path), {})
        if names:
            item["parameters"] = [{"name": name, "in": "path", "required": True, "schema": STR} for name in names]
        item[row.method.lower()] = _operation(row)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "airbricks local Databricks workspace",
            "version": "0.1.0",
            "description": "The subset of the Databricks REST API the local workspace serves.",
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": paths,
    }
