"""An OpenAPI 3 description of the endpoints the local workspace serves, with their request fields.

The routes read JSON themselves (clients send GET parameters as a query string or a body, numbers as
strings), so FastAPI's generated schema has no request bodies. This hand-kept description gives fuzzers
(schemathesis, in ``tests/workspace/test_fuzz.py``) the fields and types of the real API; it is served at
``/api/2.0/airbricks/openapi.json``. It describes, it does not validate: the models do that.
"""

from __future__ import annotations

from typing import Any

S: dict[str, Any] = {"type": "string"}
I: dict[str, Any] = {"type": "integer", "format": "int64"}
B: dict[str, Any] = {"type": "boolean"}
OBJ: dict[str, Any] = {"type": "object"}
STRS: dict[str, Any] = {"type": "array", "items": S}
TAGS: dict[str, Any] = {"type": "object", "additionalProperties": S}

_ERROR = {"type": "object", "required": ["error_code", "message"], "properties": {"error_code": S, "message": S}}

_NEW_CLUSTER = {
    "type": "object",
    "properties": {
        "cluster_name": S,
        "spark_version": S,
        "node_type_id": S,
        "driver_node_type_id": S,
        "num_workers": I,
        "autoscale": {"type": "object", "properties": {"min_workers": I, "max_workers": I}},
        "autotermination_minutes": I,
        "custom_tags": TAGS,
        "spark_conf": TAGS,
        "spark_env_vars": TAGS,
        "data_security_mode": S,
        "runtime_engine": S,
        "single_user_name": S,
        "policy_id": S,
    },
}
_NOTEBOOK_TASK = {"type": "object", "properties": {"notebook_path": S, "base_parameters": TAGS, "source": S}}
_TASK = {
    "type": "object",
    "properties": {
        "task_key": S,
        "existing_cluster_id": S,
        "new_cluster": _NEW_CLUSTER,
        "job_cluster_key": S,
        "notebook_task": _NOTEBOOK_TASK,
        "depends_on": {"type": "array", "items": {"type": "object", "properties": {"task_key": S}}},
        "timeout_seconds": I,
        "max_retries": I,
        "run_if": S,
        "min_retry_interval_millis": I,
        "condition_task": {"type": "object", "properties": {"op": S, "left": S, "right": S}},
        "python_wheel_task": {
            "type": "object",
            "properties": {"package_name": S, "entry_point": S, "parameters": STRS},
        },
        "run_job_task": {"type": "object", "properties": {"job_id": I, "job_parameters": TAGS}},
        "sql_task": {
            "type": "object",
            "properties": {
                "warehouse_id": S,
                "parameters": TAGS,
                "query": {"type": "object", "properties": {"query_id": S}},
            },
        },
        "for_each_task": {
            "type": "object",
            "properties": {
                "inputs": S,
                "concurrency": I,
                "task": {"type": "object", "properties": {"task_key": S, "notebook_task": _NOTEBOOK_TASK}},
            },
        },
    },
}
_TASKS = {"type": "array", "items": _TASK}
_JOB_SETTINGS = {
    "name": S,
    "tasks": _TASKS,
    "timeout_seconds": I,
    "max_concurrent_runs": I,
    "tags": TAGS,
    "job_clusters": {
        "type": "array",
        "items": {"type": "object", "properties": {"job_cluster_key": S, "new_cluster": _NEW_CLUSTER}},
    },
    "parameters": {"type": "array", "items": {"type": "object", "properties": {"name": S, "default": S}}},
    "queue": {"type": "object", "properties": {"enabled": B}},
}


def _responses(ok: dict[str, Any] | None = None) -> dict[str, Any]:
    error = {"description": "A Databricks error", "content": {"application/json": {"schema": _ERROR}}}
    return {
        "200": {"description": "OK", "content": {"application/json": {"schema": ok or OBJ}}},
        "400": error,
        "401": error,
        "403": error,
        "404": error,
        "409": error,
        "429": error,
    }


def _get(fields: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A GET whose fields travel in the query string (as the SDK and the provider's sync hook send them)."""
    return {
        "get": {
            "parameters": [
                {"name": name, "in": "query", "required": name in required, "schema": schema}
                for name, schema in fields.items()
            ],
            "responses": _responses(),
        }
    }


def _post(fields: dict[str, Any], required: tuple[str, ...] = (), method: str = "post") -> dict[str, Any]:
    """A POST (or ``method``) with a JSON body of ``fields``."""
    body = (
        {"type": "object", "properties": fields, "required": list(required)}
        if required
        else {"type": "object", "properties": fields}
    )
    return {
        method: {
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": _responses(),
        }
    }


def _delete() -> dict[str, Any]:
    """A DELETE of the resource its path names (no body)."""
    return {"delete": {"responses": _responses()}}


def _item(names: tuple[str, ...], *methods: dict[str, Any]) -> dict[str, Any]:
    """One resource's path (``.../{name}``): its path parameters and the methods it answers."""
    out: dict[str, Any] = {"parameters": _path_params(*names)}
    for method in methods:
        out.update(method)
    return out


def _volume_path(prefix: str, *extra: str) -> str:
    return prefix + "/Volumes/{catalog}/{schema}/{volume}" + "".join("/{%s}" % name for name in extra)


def _path_params(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "path", "required": True, "schema": S} for name in names]


def _files() -> dict[str, Any]:
    """The Files API: paths in the URL, bodies as raw bytes."""
    file_params = _path_params("catalog", "schema", "volume", "file_name")
    dir_params = _path_params("catalog", "schema", "volume", "dir_name")
    raw = {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
    no_body = {"204": {"description": "Done"}, **{k: v for k, v in _responses().items() if k != "200"}}
    return {
        _volume_path("/api/2.0/fs/files", "file_name"): {
            "parameters": file_params,
            "put": {
                "parameters": [{"name": "overwrite", "in": "query", "schema": B}],
                "requestBody": raw,
                "responses": no_body,
            },
            "get": {"responses": {"200": {"description": "The file"}, **no_body}},
            "delete": {"responses": no_body},
        },
        _volume_path("/api/2.0/fs/directories", "dir_name"): {
            "parameters": dir_params,
            "put": {"responses": no_body},
            "get": {
                "parameters": [
                    {"name": "page_size", "in": "query", "schema": I},
                    {"name": "page_token", "in": "query", "schema": S},
                ],
                "responses": _responses(),
            },
            "delete": {"responses": no_body},
        },
    }


def _workspace_services() -> dict[str, Any]:
    """Unity Catalog, secrets, command execution, Git folders, SCIM, SQL warehouses and statements."""
    uc, sec, cmd, scim, sql = (
        "/api/2.1/unity-catalog/",
        "/api/2.0/secrets/",
        "/api/1.2/",
        "/api/2.0/preview/scim/v2/",
        "/api/2.0/sql/",
    )
    page = {"max_results": I, "page_token": S}
    scope, secret = {"scope": S}, {"scope": S, "key": S}
    return {
        uc + "catalogs": {
            **_post({"name": S, "comment": S, "properties": TAGS, "storage_root": S}, ("name",)),
            **_get(page),
        },
        uc + "catalogs/{name}": _item(
            ("name",), _get({}), _post({"comment": S, "new_name": S}, method="patch"), _delete()
        ),
        uc + "schemas": {
            **_post({"catalog_name": S, "name": S, "comment": S}, ("catalog_name", "name")),
            **_get({"catalog_name": S, **page}, ("catalog_name",)),
        },
        uc + "schemas/{full_name}": _item(("full_name",), _get({}), _delete()),
        uc + "volumes": {
            **_post(
                {
                    "catalog_name": S,
                    "schema_name": S,
                    "name": S,
                    "volume_type": {"type": "string", "enum": ["MANAGED", "EXTERNAL"]},
                    "storage_location": S,
                    "comment": S,
                },
                ("catalog_name", "schema_name", "name", "volume_type"),
            ),
            **_get({"catalog_name": S, "schema_name": S, **page}, ("catalog_name", "schema_name")),
        },
        uc + "tables": _get({"catalog_name": S, "schema_name": S, **page}, ("catalog_name", "schema_name")),
        uc + "tables/{full_name}": _item(("full_name",), _get({}), _delete()),
        uc + "tables/{full_name}/exists": _item(("full_name",), _get({})),
        sec + "scopes/create": _post({"scope": S, "initial_manage_principal": S}, ("scope",)),
        sec + "scopes/list": _get({}),
        sec + "scopes/delete": _post(scope, ("scope",)),
        sec + "put": _post({**secret, "string_value": S, "bytes_value": S}, ("scope", "key")),
        sec + "get": _get(secret, ("scope", "key")),
        sec + "delete": _post(secret, ("scope", "key")),
        sec + "list": _get(scope, ("scope",)),
        sec + "acls/put": _post(
            {"scope": S, "principal": S, "permission": {"type": "string", "enum": ["READ", "WRITE", "MANAGE"]}},
            ("scope", "principal", "permission"),
        ),
        sec + "acls/list": _get(scope, ("scope",)),
        cmd + "contexts/create": _post({"clusterId": S, "language": S}, ("clusterId",)),
        cmd + "contexts/status": _get({"clusterId": S, "contextId": S}, ("clusterId", "contextId")),
        cmd + "commands/execute": _post(
            {"clusterId": S, "contextId": S, "language": S, "command": S}, ("clusterId", "contextId")
        ),
        cmd + "commands/status": _get(
            {"clusterId": S, "contextId": S, "commandId": S}, ("clusterId", "contextId", "commandId")
        ),
        "/api/2.0/repos": {
            **_post({"url": S, "provider": S, "path": S}, ("url",)),
            **_get({"path_prefix": S, "next_page_token": S}),
        },
        "/api/2.0/repos/{repo_id}": _item(
            ("repo_id",), _get({}), _post({"branch": S, "tag": S}, method="patch"), _delete()
        ),
        scim + "Me": _get({}),
        scim + "Users": {
            **_get({"filter": S, "startIndex": I, "count": I}),
            **_post({"userName": S, "displayName": S}, ("userName",)),
        },
        scim + "Users/{id}": _item(
            ("id",),
            _get({}),
            _post({"displayName": S, "active": B, "userName": S}, method="put"),
            _post(
                {
                    "schemas": STRS,
                    "Operations": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"op": S, "path": S, "value": {}}},
                    },
                },
                method="patch",
            ),
        ),
        scim + "Groups": _get({"filter": S, "startIndex": I, "count": I}),
        sql + "warehouses": {
            **_post({"name": S, "cluster_size": S, "auto_stop_mins": I, "max_num_clusters": I}),
            **_get({}),
        },
        sql + "warehouses/{id}": _item(("id",), _get({}), _delete()),
        sql + "warehouses/{id}/edit": _item(("id",), _post({"name": S, "auto_stop_mins": I})),
        sql + "statements": _post(
            {
                "statement": S,
                "warehouse_id": S,
                "catalog": S,
                "schema": S,
                "wait_timeout": S,
                "on_wait_timeout": S,
                "disposition": S,
                "format": S,
                "row_limit": I,
            },
            ("statement", "warehouse_id"),
        ),
        sql + "statements/{statement_id}": _item(("statement_id",), _get({}), _delete()),
        sql + "statements/{statement_id}/cancel": _item(("statement_id",), _post({})),
    }


def build_spec() -> dict[str, Any]:
    """The OpenAPI document (a fresh dict each time: callers may mutate it)."""
    c, j, d, w = "/api/2.1/clusters/", "/api/2.1/jobs/", "/api/2.0/dbfs/", "/api/2.0/workspace/"
    paths: dict[str, Any] = {
        c + "create": _post(_NEW_CLUSTER["properties"], ("spark_version",)),
        c + "get": _get({"cluster_id": S}, ("cluster_id",)),
        c + "list": _get({"page_size": I, "page_token": S}),
        c + "start": _post({"cluster_id": S}, ("cluster_id",)),
        c + "restart": _post({"cluster_id": S}, ("cluster_id",)),
        c + "delete": _post({"cluster_id": S}, ("cluster_id",)),
        c + "permanent-delete": _post({"cluster_id": S}, ("cluster_id",)),
        c + "resize": _post({"cluster_id": S, "num_workers": I}, ("cluster_id",)),
        c + "events": _post(
            {
                "cluster_id": S,
                "order": {"type": "string", "enum": ["ASC", "DESC"]},
                "offset": I,
                "limit": I,
                "start_time": I,
                "end_time": I,
                "event_types": STRS,
            },
            ("cluster_id",),
        ),
        j + "runs/submit": _post({"run_name": S, "tasks": _TASKS, "timeout_seconds": I, "idempotency_token": S}),
        j + "runs/get": _get({"run_id": I, "include_history": B}, ("run_id",)),
        j + "runs/get-output": _get({"run_id": I}, ("run_id",)),
        j + "runs/cancel": _post({"run_id": I}, ("run_id",)),
        j + "runs/repair": _post(
            {
                "run_id": I,
                "rerun_tasks": STRS,
                "rerun_all_failed_tasks": B,
                "rerun_dependent_tasks": B,
                "latest_repair_id": I,
            },
            ("run_id",),
        ),
        "/api/2.0/sql/queries": {
            **_post(
                {"query": {"type": "object", "properties": {"display_name": S, "query_text": S, "warehouse_id": S}}}
            ),
            **_get({"page_size": I, "page_token": S}),
        },
        j + "runs/list": _get({"job_id": I, "active_only": B, "limit": I, "offset": I}),
        j + "create": _post(_JOB_SETTINGS),
        j + "get": _get({"job_id": I}, ("job_id",)),
        j + "run-now": _post(
            {"job_id": I, "notebook_params": TAGS, "job_parameters": TAGS, "idempotency_token": S}, ("job_id",)
        ),
        d + "put": _post({"path": S, "contents": S, "overwrite": B}, ("path",)),
        d + "get-status": _get({"path": S}, ("path",)),
        d + "read": _get({"path": S, "offset": I, "length": I}, ("path",)),
        d + "list": _get({"path": S}, ("path",)),
        d + "mkdirs": _post({"path": S}, ("path",)),
        d + "delete": _post({"path": S, "recursive": B}, ("path",)),
        d + "move": _post({"source_path": S, "destination_path": S}, ("source_path", "destination_path")),
        d + "create": _post({"path": S, "overwrite": B}, ("path",)),
        d + "add-block": _post({"handle": I, "data": S}, ("handle", "data")),
        d + "close": _post({"handle": I}, ("handle",)),
        w + "import": _post(
            {
                "path": S,
                "content": S,
                "format": {"type": "string", "enum": ["SOURCE", "AUTO", "JUPYTER", "DBC", "HTML", "RAW"]},
                "language": {"type": "string", "enum": ["PYTHON", "SQL", "SCALA", "R"]},
                "overwrite": B,
            },
            ("path",),
        ),
        w + "export": _get({"path": S, "format": S, "direct_download": B}, ("path",)),
        w + "get-status": _get({"path": S}, ("path",)),
        w + "list": _get({"path": S}, ("path",)),
        w + "mkdirs": _post({"path": S}, ("path",)),
        w + "delete": _post({"path": S, "recursive": B}, ("path",)),
        **_files(),
        **_workspace_services(),
    }
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
