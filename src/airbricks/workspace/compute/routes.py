"""HTTP for the Clusters API (``/api/2.0|2.1/clusters/*``): parameters in, :class:`Clusters` calls, JSON out.

``clusters/get`` is polled by every waiting client, so it stays cheap: the model copies the document under
the lock, and serialization happens outside it (plain ``json.dumps`` in :func:`routes.versioned`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from airbricks.workspace.compute import specs as cluster_specs
from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.pagination import paginate
from airbricks.workspace.params import Params
from airbricks.workspace.server.http import page_offset, read_params, versioned, workspace

router = APIRouter()
VERSIONS = ("2.0", "2.1")

#: The real service's page size bounds for ``clusters/events``.
_EVENTS_DEFAULT_LIMIT = 50
_EVENTS_MAX_LIMIT = 500


def _cluster_id(params: Params) -> str:
    return params.str("cluster_id", required=True)  # type: ignore[return-value]


@versioned(router, ["POST"], "clusters/create", VERSIONS)
async def create(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    return {"cluster_id": workspace(request).clusters.create(params.data)}


@versioned(router, ["GET"], "clusters/get", VERSIONS)
async def get(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    return workspace(request).clusters.get(_cluster_id(params))


def _filter(request: Request, params: Params, name: str) -> set[str] | None:
    """A ``filter_by`` list: repeated ``filter_by.<name>`` query parameters (the SDK) or a JSON ``filter_by``."""
    values = request.query_params.getlist(f"filter_by.{name}")
    body_filter = params.raw("filter_by")
    if isinstance(body_filter, dict) and isinstance(body_filter.get(name), list):
        values = [*values, *body_filter[name]]
    return {str(v) for v in values} or None


@versioned(router, ["GET"], "clusters/list", VERSIONS)
async def list_(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    clusters = workspace(request).clusters.list(
        states=_filter(request, params, "cluster_states"), sources=_filter(request, params, "cluster_sources")
    )
    page_size = params.int("page_size", minimum=0, maximum=100)
    if not page_size:
        return {"clusters": clusters}
    page = paginate(clusters, page_offset(params), page_size)
    body: dict[str, Any] = {"clusters": page.items}
    if page.next_offset is not None:
        body["next_page_token"] = str(page.next_offset)
    if page.prev_offset is not None:
        body["prev_page_token"] = str(page.prev_offset)
    return body


@versioned(router, ["POST"], "clusters/start", VERSIONS)
async def start(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    workspace(request).clusters.start(_cluster_id(params))
    return {}


@versioned(router, ["POST"], "clusters/restart", VERSIONS)
async def restart(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    workspace(request).clusters.restart(_cluster_id(params))
    return {}


@versioned(router, ["POST"], "clusters/delete", VERSIONS)
async def delete(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    workspace(request).clusters.delete(_cluster_id(params))
    return {}


@versioned(router, ["POST"], "clusters/permanent-delete", VERSIONS)
async def permanent_delete(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    workspace(request).clusters.permanent_delete(_cluster_id(params))
    return {}


@versioned(router, ["POST"], "clusters/edit", VERSIONS)
async def edit(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    workspace(request).clusters.edit(_cluster_id(params), params.data)
    return {}


@versioned(router, ["POST"], "clusters/resize", VERSIONS)
async def resize(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    workspace(request).clusters.resize(
        _cluster_id(params), num_workers=params.raw("num_workers"), autoscale=params.raw("autoscale")
    )
    return {}


@versioned(router, ["POST"], "clusters/events", VERSIONS)
async def events(request: Request) -> dict[str, Any]:
    """One page of events; ``next_page`` is the request to send for the following page (the SDK does)."""
    params = await read_params(request)
    cluster_id = _cluster_id(params)
    order = (params.str("order") or "DESC").upper()
    if order not in ("ASC", "DESC"):
        raise InvalidParameterValue(f"Invalid value for field 'order': {order[:20]} (use ASC or DESC)")
    offset = params.int("offset", default=0, minimum=0)
    limit = params.int("limit", default=_EVENTS_DEFAULT_LIMIT, minimum=1, maximum=_EVENTS_MAX_LIMIT)
    event_types = params.list("event_types")
    page = workspace(request).clusters.events(
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


@versioned(router, ["GET"], "clusters/spark-versions", VERSIONS)
async def spark_versions(request: Request) -> dict[str, Any]:
    return {"versions": cluster_specs.spark_versions()}


@versioned(router, ["GET"], "clusters/list-node-types", VERSIONS)
async def list_node_types(request: Request) -> dict[str, Any]:
    return {"node_types": cluster_specs.node_types(workspace(request).config.cloud)}


@router.get("/api/2.0/airbricks/clusters", include_in_schema=True)
async def usage(request: Request) -> dict[str, Any]:
    """airbricks-only admin view: every cluster ever created, deleted ones too, with its up time."""
    return {"clusters": workspace(request).clusters.usage()}
