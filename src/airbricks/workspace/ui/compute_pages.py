"""Compute pages: clusters (list; spec, state timeline, termination reason, uptime, usage, libraries, the
driver's log and its Spark UI) and SQL warehouses. Buttons (start/terminate/delete) call the real API
through :mod:`airbricks.workspace.ui.actions`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from airbricks.workspace.compute import specs as cluster_specs
from airbricks.workspace.compute.engine import DriverState
from airbricks.workspace.compute.spark.processes import log_tail
from airbricks.workspace.errors import DatabricksError
from airbricks.workspace.ui.web import Page, page, require, visible

#: What the cluster page shows of the driver's log.
DRIVER_LOG_TAIL = 16_000
#: Spec fields shown in the summary table (the rest is in the JSON below it).
SUMMARY_FIELDS = (
    "cluster_name",
    "spark_version",
    "node_type_id",
    "driver_node_type_id",
    "cluster_source",
    "autotermination_minutes",
    "data_security_mode",
    "runtime_engine",
)
TRANSITIONAL = ("PENDING", "RESTARTING", "RESIZING", "TERMINATING")


def _driver_facts(ws: Any, cluster_id: str, state: str) -> dict[str, Any]:
    """Spark UI link and driver log of the cluster's Spark driver, or why there is none."""
    driver_of = getattr(ws.clusters.engine, "driver", None)
    driver = driver_of(cluster_id) if driver_of is not None else None
    if driver is None:
        why = (
            "No Spark driver: this workspace runs clusters without Spark (airbricks serve --spark on starts one"
            " per cluster)."
            if driver_of is None
            else f"No Spark driver is running (the cluster is {state})."
        )
        return {"spark_ui": None, "driver_log": None, "why": why}
    port = driver.conf.get("spark.ui.port")
    ready = driver.state is DriverState.READY
    return {
        "spark_ui": f"http://127.0.0.1:{port}" if port and ready else None,
        "driver_log": log_tail(driver.log, DRIVER_LOG_TAIL),
        "driver_log_path": str(driver.log),
        "why": "" if ready else "The Spark driver is starting: its Spark UI opens once it answers.",
    }


@page
async def clusters_list(request: Request, ws: Any) -> Page:
    clusters = visible(request, "clusters", ws.clusters.list(), "cluster_id")
    return Page(
        "clusters.html",
        {"nav": "clusters", "clusters": clusters, "active": any(c["state"] in TRANSITIONAL for c in clusters)},
    )


@page
async def cluster_page(request: Request, ws: Any) -> Page:
    cluster_id = request.path_params["cluster_id"]
    require(request, "clusters", cluster_id, "CAN_ATTACH_TO", verify=False)
    usage = next((u for u in ws.clusters.usage() if u["cluster_id"] == cluster_id), None)
    events = ws.clusters.events(cluster_id, order="ASC", limit=500).items  # raises for an unknown id
    try:
        doc: dict[str, Any] | None = ws.clusters.get(cluster_id)
        libraries = ws.libraries.cluster_status(cluster_id).get("library_statuses", [])
    except DatabricksError:  # permanently deleted: its timeline stays readable
        doc, libraries = None, []
    state = doc["state"] if doc else "DELETED"
    now = ws.shared.now_ms()
    transitions = usage["transitions"] if usage else []
    up_since = next((t["timestamp"] for t in reversed(transitions) if t["state"] == "RUNNING"), None)
    running_seconds = usage["running_seconds"] if usage else 0.0
    nodes = 1 + cluster_specs.workers(doc) if doc else 1
    return Page(
        "cluster.html",
        {
            "nav": "clusters",
            "cluster_id": cluster_id,
            "doc": doc,
            "state": state,
            "events": events,
            "summary": [(f, doc.get(f)) for f in SUMMARY_FIELDS if doc and doc.get(f) not in (None, "")],
            "workers": cluster_specs.workers(doc) if doc else 0,
            "libraries": libraries,
            "uptime_ms": now - up_since if state == "RUNNING" and up_since else None,
            "running_seconds": running_seconds,
            "node_hours": round(nodes * running_seconds / 3600, 4),
            "termination_reason": (doc or {}).get("termination_reason") or (usage or {}).get("termination_reason"),
            "driver": _driver_facts(ws, cluster_id, state),
            "active": state in TRANSITIONAL,
        },
    )


@page
async def warehouses_list(request: Request, ws: Any) -> Page:
    warehouses = visible(request, "warehouses", ws.warehouses.list(), "id")
    return Page(
        "warehouses.html",
        {
            "nav": "warehouses",
            "warehouses": warehouses,
            "active": any(w["state"] in ("STARTING", "STOPPING") for w in warehouses),
        },
    )


@page
async def warehouse_page(request: Request, ws: Any) -> Page:
    require(request, "warehouses", request.path_params["warehouse_id"], "CAN_VIEW")
    doc = ws.warehouses.get(request.path_params["warehouse_id"])
    return Page("warehouse.html", {"nav": "warehouses", "doc": doc, "active": doc["state"] in ("STARTING", "STOPPING")})


routes = [
    Route("/ui/clusters", clusters_list),
    Route("/ui/clusters/{cluster_id}", cluster_page),
    Route("/ui/warehouses", warehouses_list),
    Route("/ui/warehouses/{warehouse_id}", warehouse_page),
]
