"""HTTP for compute: the Clusters API (``/api/2.0|2.1/clusters/*``), the Instance Pools API
(``/api/2.0/instance-pools/*``), the Libraries API (``/api/2.0/libraries/*``)
and the Command Execution API 1.2 (``/api/1.2/contexts|commands/*``), as one route table.

Each row reads the request's parameters, makes one call on the model and shapes its answer; the models
(:class:`~airbricks.workspace.compute.clusters.Clusters`, :class:`~airbricks.workspace.compute.libraries.Libraries`,
:class:`~airbricks.workspace.compute.commands.Contexts`) raise the API's errors. ``clusters/get`` is polled by every
waiting client, so it stays cheap: the model copies the document under the lock, and serialization happens
outside it. The fields declared here are what the generated OpenAPI description shows (clusters under 2.1).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from airbricks.workspace.compute import specs as cluster_specs
from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.identity.routes import caller
from airbricks.workspace.pagination import page_tokens, paginate
from airbricks.workspace.params import Params
from airbricks.workspace.permissions.guard import Rule, creates, field, need, shows
from airbricks.workspace.server.http import Call, Endpoint, Schema, call, page_offset, read_params, workspace
from airbricks.workspace.server.openapi import INT, STR, STRS, TAGS, enum, obj

CLUSTERS = ("2.0", "2.1")
LIBRARIES = ("2.0",)
COMMANDS = ("1.2",)

#: The real service's page size bounds for ``clusters/events``.
_EVENTS_DEFAULT_LIMIT = 50
_EVENTS_MAX_LIMIT = 500

#: The fields of a cluster spec (``clusters/create``; a job's ``new_cluster`` has the same).
CLUSTER_SPEC_FIELDS: dict[str, Schema] = {
    "cluster_name": STR,
    "spark_version": STR,
    "node_type_id": STR,
    "driver_node_type_id": STR,
    "num_workers": INT,
    "autoscale": obj(min_workers=INT, max_workers=INT),
    "autotermination_minutes": INT,
    "custom_tags": TAGS,
    "spark_conf": TAGS,
    "spark_env_vars": TAGS,
    "data_security_mode": STR,
    "runtime_engine": STR,
    "single_user_name": STR,
    "policy_id": STR,
    "instance_pool_id": STR,
    "driver_instance_pool_id": STR,
}
_CLUSTER_ID = {"cluster_id": STR}


# ---------------------------------------------------------------------------------------------------- clusters


def _cluster_id(params: Params) -> str:
    return params.str("cluster_id", required=True)


async def create(request: Request) -> dict[str, Any]:
    """``clusters/create``: the caller is the cluster's ``creator_user_name``, as on Databricks."""
    params = await read_params(request)
    return {"cluster_id": workspace(request).clusters.create(params.data, creator=caller(request).name)}


def get(ws: Workspace, params: Params) -> dict[str, Any]:
    return ws.clusters.get(_cluster_id(params))


def _filter(request: Request, params: Params, name: str) -> set[str] | None:
    """A ``filter_by`` list: repeated ``filter_by.<name>`` query parameters (the SDK) or a JSON ``filter_by``."""
    values = request.query_params.getlist(f"filter_by.{name}")
    body_filter = params.raw("filter_by")
    if isinstance(body_filter, dict) and isinstance(body_filter.get(name), list):
        values = [*values, *body_filter[name]]
    return {str(v) for v in values} or None


async def list_(request: Request) -> dict[str, Any]:
    """Every visible cluster, or one page of them when ``page_size`` is given."""
    params = await read_params(request)
    clusters = workspace(request).clusters.list(
        states=_filter(request, params, "cluster_states"), sources=_filter(request, params, "cluster_sources")
    )
    page_size = params.int("page_size", minimum=0, maximum=100)
    if not page_size:
        return {"clusters": clusters}
    page = paginate(clusters, page_offset(params), page_size)
    return {"clusters": page.items, **page_tokens(page, previous=True)}


def start(ws: Workspace, params: Params) -> None:
    ws.clusters.start(_cluster_id(params))


def restart(ws: Workspace, params: Params) -> None:
    ws.clusters.restart(_cluster_id(params))


def delete(ws: Workspace, params: Params) -> None:
    ws.clusters.delete(_cluster_id(params))


def permanent_delete(ws: Workspace, params: Params) -> None:
    ws.clusters.permanent_delete(_cluster_id(params))


def edit(ws: Workspace, params: Params) -> None:
    ws.clusters.edit(_cluster_id(params), params.data)


def resize(ws: Workspace, params: Params) -> None:
    ws.clusters.resize(_cluster_id(params), num_workers=params.raw("num_workers"), autoscale=params.raw("autoscale"))


def events(ws: Workspace, params: Params) -> dict[str, Any]:
    """One page of events; ``next_page`` is the request to send for the following page (the SDK does)."""
    cluster_id = _cluster_id(params)
    order = (params.str("order") or "DESC").upper()
    if order not in ("ASC", "DESC"):
        raise InvalidParameterValue(f"Invalid value for field 'order': {order[:20]} (use ASC or DESC)")
    offset = params.int("offset", default=0, minimum=0)
    limit = params.int("limit", default=_EVENTS_DEFAULT_LIMIT, minimum=1, maximum=_EVENTS_MAX_LIMIT)
    event_types = params.list("event_types")
    page = ws.clusters.events(
        cluster_id,
        order=order,
        offset=offset,
        limit=limit,
        event_types=[str(t) for t in event_types] if event_types else None,
        start_time=params.int("start_time"),
        end_time=params.int("end_time"),
    )
    body: dict[str, Any] = {"events": page.items, "total_count": page.total}
    if page.next_offset is not None:
        body["next_page"] = {**params.data, "cluster_id": cluster_id, "offset": page.next_offset, "limit": limit}
    return body


def spark_versions(ws: Workspace, params: Params) -> dict[str, Any]:
    return {"versions": cluster_specs.spark_versions()}


def list_node_types(ws: Workspace, params: Params) -> dict[str, Any]:
    return {"node_types": cluster_specs.node_types(ws.config.cloud)}


def usage(ws: Workspace, params: Params) -> dict[str, Any]:
    """airbricks-only admin view: every cluster ever created, deleted ones too, with its up time."""
    return {"clusters": ws.clusters.usage()}


# --------------------------------------------------------------------------------------------------- libraries


def install(ws: Workspace, params: Params) -> None:
    ws.libraries.install(params.str("cluster_id", required=True), params.raw("libraries"))


def uninstall(ws: Workspace, params: Params) -> None:
    ws.libraries.uninstall(params.str("cluster_id", required=True), params.raw("libraries"))


def cluster_status(ws: Workspace, params: Params) -> dict[str, Any]:
    return ws.libraries.cluster_status(params.str("cluster_id", required=True))


def all_cluster_statuses(ws: Workspace, params: Params) -> dict[str, Any]:
    return ws.libraries.all_statuses()


# ------------------------------------------------------------------------------ command execution (camel case)


def create_context(ws: Workspace, p: Params) -> dict[str, Any]:
    return {"id": ws.contexts.create(p.raw("clusterId"), p.raw("language"))}


def context_status(ws: Workspace, p: Params) -> dict[str, Any]:
    return ws.contexts.status(p.raw("clusterId"), p.raw("contextId"))


def destroy_context(ws: Workspace, p: Params) -> None:
    ws.contexts.destroy(p.raw("clusterId"), p.raw("contextId"))


def execute(ws: Workspace, p: Params) -> dict[str, Any]:
    return {"id": ws.contexts.execute(p.raw("clusterId"), p.raw("contextId"), p.raw("language"), p.raw("command"))}


def command_status(ws: Workspace, p: Params) -> dict[str, Any]:
    return ws.contexts.command_status(p.raw("clusterId"), p.raw("contextId"), p.raw("commandId"))


def cancel(ws: Workspace, p: Params) -> None:
    ws.contexts.cancel(p.raw("clusterId"), p.raw("contextId"), p.raw("commandId"))


# ---------------------------------------------------------------------------------------------- instance pools


def create_pool(ws: Workspace, params: Params) -> dict[str, Any]:
    return {"instance_pool_id": ws.pools.create(params.data)}


def get_pool(ws: Workspace, params: Params) -> dict[str, Any]:
    return ws.pools.get(params.str("instance_pool_id", required=True))


def list_pools(ws: Workspace, params: Params) -> dict[str, Any]:
    return {"instance_pools": ws.pools.list()}


def edit_pool(ws: Workspace, params: Params) -> None:
    ws.pools.edit(params.data)


def delete_pool(ws: Workspace, params: Params) -> None:
    ws.pools.delete(params.str("instance_pool_id", required=True))


_POOL_ID = {"instance_pool_id": STR}
_POOL_FIELDS: dict[str, Schema] = {
    "instance_pool_name": STR,
    "node_type_id": STR,
    "min_idle_instances": INT,
    "max_capacity": INT,
    "idle_instance_autotermination_minutes": INT,
    "preloaded_spark_versions": STRS,
    "custom_tags": TAGS,
}


def _clusters(
    method: str, name: str, fn: Call, fields: dict[str, Schema] | None = None, required: tuple[str, ...] = ()
) -> Endpoint:
    """A Clusters API row: served under 2.0 and 2.1, documented (when it declares fields) under 2.1."""
    path = f"/api/{{version}}/clusters/{name}"
    return call(method, path, fn, versions=CLUSTERS, fields=fields, required=required, doc_version="2.1")


_CONTEXT = {"clusterId": STR, "contextId": STR}

ROUTES: list[Endpoint] = [
    Endpoint(
        "POST",
        "/api/{version}/clusters/create",
        create,
        CLUSTERS,
        CLUSTER_SPEC_FIELDS,
        ("spark_version",),
        doc_version="2.1",
    ),
    _clusters("GET", "get", get, _CLUSTER_ID, required=("cluster_id",)),
    Endpoint(
        "GET",
        "/api/{version}/clusters/list",
        list_,
        CLUSTERS,
        fields={"page_size": INT, "page_token": STR},
        doc_version="2.1",
    ),
    _clusters("POST", "start", start, _CLUSTER_ID, required=("cluster_id",)),
    _clusters("POST", "restart", restart, _CLUSTER_ID, required=("cluster_id",)),
    _clusters("POST", "delete", delete, _CLUSTER_ID, required=("cluster_id",)),
    _clusters("POST", "permanent-delete", permanent_delete, _CLUSTER_ID, required=("cluster_id",)),
    _clusters("POST", "edit", edit),
    _clusters("POST", "resize", resize, {**_CLUSTER_ID, "num_workers": INT}, required=("cluster_id",)),
    _clusters(
        "POST",
        "events",
        events,
        {
            **_CLUSTER_ID,
            "order": enum("ASC", "DESC"),
            "offset": INT,
            "limit": INT,
            "start_time": INT,
            "end_time": INT,
            "event_types": STRS,
        },
        required=("cluster_id",),
    ),
    _clusters("GET", "spark-versions", spark_versions),
    _clusters("GET", "list-node-types", list_node_types),
    call("GET", "/api/2.0/airbricks/clusters", usage),
    call("POST", "/api/2.0/instance-pools/create", create_pool, fields=_POOL_FIELDS, required=("instance_pool_name",)),
    call("GET", "/api/2.0/instance-pools/get", get_pool, fields=_POOL_ID, required=("instance_pool_id",)),
    call("GET", "/api/2.0/instance-pools/list", list_pools),
    call("POST", "/api/2.0/instance-pools/edit", edit_pool, fields={**_POOL_ID, **_POOL_FIELDS}),
    call("POST", "/api/2.0/instance-pools/delete", delete_pool, fields=_POOL_ID, required=("instance_pool_id",)),
    call("POST", "/api/{version}/libraries/install", install, versions=LIBRARIES),
    call("POST", "/api/{version}/libraries/uninstall", uninstall, versions=LIBRARIES),
    call("GET", "/api/{version}/libraries/cluster-status", cluster_status, versions=LIBRARIES),
    call("GET", "/api/{version}/libraries/all-cluster-statuses", all_cluster_statuses, versions=LIBRARIES),
    call(
        "POST",
        "/api/{version}/contexts/create",
        create_context,
        versions=COMMANDS,
        fields={"clusterId": STR, "language": STR},
        required=("clusterId",),
    ),
    call(
        "GET",
        "/api/{version}/contexts/status",
        context_status,
        versions=COMMANDS,
        fields=_CONTEXT,
        required=("clusterId", "contextId"),
    ),
    call("POST", "/api/{version}/contexts/destroy", destroy_context, versions=COMMANDS),
    call(
        "POST",
        "/api/{version}/commands/execute",
        execute,
        versions=COMMANDS,
        fields={**_CONTEXT, "language": STR, "command": STR},
        required=("clusterId", "contextId"),
    ),
    call(
        "GET",
        "/api/{version}/commands/status",
        command_status,
        versions=COMMANDS,
        fields={**_CONTEXT, "commandId": STR},
        required=("clusterId", "contextId", "commandId"),
    ),
    call("POST", "/api/{version}/commands/cancel", cancel, versions=COMMANDS),
]

#: Who may do what to a cluster (:mod:`airbricks.workspace.permissions`): each row's level on the cluster its
#: ``cluster_id`` (the command API: ``clusterId``) names; terminating takes CAN_RESTART, as on Databricks.
_ATTACH, _RESTART, _MANAGE = "CAN_ATTACH_TO", "CAN_RESTART", "CAN_MANAGE"
_ON_CLUSTER, _ON_CONTEXT = field("clusters", "cluster_id"), field("clusters", "clusterId")
_C = "/api/{version}/clusters/"
PERMISSIONS: dict[str, Rule] = {
    "POST " + _C + "create": creates("clusters", lambda _, answer: answer["cluster_id"], acl_field=None),
    "GET " + _C + "list": shows("clusters", "clusters", "cluster_id"),
    "GET " + _C + "get": need(_ATTACH, _ON_CLUSTER),
    "POST " + _C + "events": need(_ATTACH, _ON_CLUSTER),
    "POST " + _C + "start": need(_RESTART, _ON_CLUSTER),
    "POST " + _C + "restart": need(_RESTART, _ON_CLUSTER),
    "POST " + _C + "delete": need(_RESTART, _ON_CLUSTER),
    "POST " + _C + "permanent-delete": need(_MANAGE, _ON_CLUSTER),
    "POST " + _C + "edit": need(_MANAGE, _ON_CLUSTER),
    "POST " + _C + "resize": need(_MANAGE, _ON_CLUSTER),
    "GET /api/2.0/airbricks/clusters": shows("clusters", "clusters", "cluster_id"),
    "POST /api/{version}/libraries/install": need(_MANAGE, _ON_CLUSTER),
    "POST /api/{version}/libraries/uninstall": need(_MANAGE, _ON_CLUSTER),
    "GET /api/{version}/libraries/cluster-status": need(_ATTACH, _ON_CLUSTER),
    "GET /api/{version}/libraries/all-cluster-statuses": shows("statuses", "clusters", "cluster_id"),
    **{
        f"{method} /api/{{version}}/{name}": need(_ATTACH, _ON_CONTEXT)
        for method, name in (
            ("POST", "contexts/create"),
            ("GET", "contexts/status"),
            ("POST", "contexts/destroy"),
            ("POST", "commands/execute"),
            ("GET", "commands/status"),
            ("POST", "commands/cancel"),
        )
    },
}
