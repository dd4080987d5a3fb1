"""Run pages: the runs list (filtered by state and job) and the run page - task graph, per-task state,
the selected task's notebook cell by cell with its outputs, the failing cell and its trace, the exit value
and the task's output log. While the run is active the page refreshes itself (``data-refresh``).

Everything is read from the models under the workspace lock in one pass, then rendered outside it, so a
50-task run renders in a few milliseconds (benchmarks/ui_run_page.py).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from airbricks.workspace.jobs import process as runner
from airbricks.workspace.jobs.export import load_cells
from airbricks.workspace.jobs.run import Run, TaskRun
from airbricks.workspace.kernel.cells import CELLS_FILE
from airbricks.workspace.kernel.display import text_table
from airbricks.workspace.pagination import paginate
from airbricks.workspace.params import to_int
from airbricks.workspace.ui.web import Page, page, require, viewer

STATE_FILTERS = ("active", "completed", "succeeded", "failed")
PAGE_SIZE = 50
#: What the run page shows of a task's output log (stdout and stderr, interleaved as written).
LOG_TAIL = runner.LOG_TAIL_BYTES


def state_class(state: dict[str, Any]) -> str:
    """The CSS class of a run or task state: running, success, failed, skipped, pending."""
    result = state.get("result_state")
    life = state.get("life_cycle_state", "")
    if result == "SUCCESS":
        return "success"
    if result in (
        "FAILED",
        "TIMEDOUT",
        "CANCELED",
        "INTERNAL_ERROR",
        "UPSTREAM_FAILED",
        "MAXIMUM_CONCURRENT_RUNS_REACHED",
    ):
        return "failed" if result != "CANCELED" else "canceled"
    if result in ("EXCLUDED", "UPSTREAM_CANCELED") or life == "SKIPPED":
        return "skipped"
    if life in ("RUNNING", "TERMINATING"):
        return "running"
    if life == "INTERNAL_ERROR":
        return "failed"
    return "pending"


def state_label(state: dict[str, Any]) -> str:
    return state.get("result_state") or state.get("life_cycle_state", "")


def _wanted(run: Run, state: str, job_id: int | None) -> bool:
    if job_id is not None and run.job_id != job_id:
        return False
    if state == "active":
        return run.state.is_active
    if state == "completed":
        return not run.state.is_active
    if state == "succeeded":
        return run.state.result_state == "SUCCESS"
    if state == "failed":
        return not run.state.is_active and run.state.result_state != "SUCCESS"
    return True


@page
async def runs_list(request: Request, ws: Any) -> Page:
    query = request.query_params
    state = query.get("state", "")
    state = state if state in STATE_FILTERS else ""
    job_id = to_int(query["job_id"], "job_id") if query.get("job_id") else None
    offset = max(0, to_int(query.get("offset") or 0, "offset"))
    who = viewer(request)
    with ws.shared.lock:
        selected = [r for r in reversed(list(ws.runs.runs.values())) if _wanted(r, state, job_id)]
        if not who.is_admin:  # the runs of jobs the viewer may see, as runs/list shows them
            allowed = ws.permissions.visible(who, "jobs", {str(r.job_id) for r in selected})
            selected = [r for r in selected if str(r.job_id) in allowed]
        window = paginate(selected, offset, PAGE_SIZE)
        rows = [r.to_api(with_tasks=False) | {"task_count": len(r.tasks)} for r in window.items]
    return Page(
        "runs.html",
        {
            "nav": "runs",
            "runs": rows,
            "state": state,
            "job_id": job_id or "",
            "filters": STATE_FILTERS,
            "window": window,
            "state_class": state_class,
            "state_label": state_label,
            "active": any(
                r["state"]["life_cycle_state"] in ("PENDING", "RUNNING", "QUEUED", "BLOCKED", "TERMINATING")
                for r in rows
            ),
        },
    )


def graph_columns(tasks: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Tasks in columns by depth (a task sits one column right of its deepest upstream task)."""
    by_key = {t["task_key"]: t for t in tasks}
    depth: dict[str, int] = {}

    def depth_of(key: str, seen: frozenset[str] = frozenset()) -> int:
        if key not in depth:
            ups = [
                d["task_key"]
                for d in by_key[key].get("depends_on") or []
                if d["task_key"] in by_key and d["task_key"] not in seen
            ]
            depth[key] = 1 + max((depth_of(u, seen | {key}) for u in ups), default=-1)
        return depth[key]

    columns: list[list[dict[str, Any]]] = []
    for task in tasks:
        level = depth_of(task["task_key"])
        while len(columns) <= level:
            columns.append([])
        columns[level].append(task)
    return columns


def _pick(run: Run, task: TaskRun | None, key: str | None) -> TaskRun:
    """The task shown in detail: the one the URL names, else the first failed one, else the first."""
    if task is not None:
        return task
    if key:
        for candidate in run.tasks:
            if candidate.key == key:
                return candidate
    failed = [t for t in run.tasks if t.state.result_state not in (None, "SUCCESS") and t.output is not None]
    return (failed or [t for t in run.tasks if t.state.result_state not in (None, "SUCCESS")] or run.tasks)[0]


def without_echo(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cells with the text copy of each displayed table dropped: ``display`` prints it for the run's log,
    and the page already shows the table itself."""
    for cell in cells:
        outputs, kept = cell.get("outputs", []), []
        for i, out in enumerate(outputs):
            if out["type"] == "text" and i and outputs[i - 1]["type"] == "table":
                echo = text_table(outputs[i - 1]["columns"], outputs[i - 1]["rows"])
                if out["text"].startswith(echo):
                    out = {
                        **out,
                        "text": out["text"][len(echo) :]
                        .removeprefix("\n(showing the first 1000 rows)")
                        .removeprefix("\n"),
                    }
            kept.append(out)
        cell["outputs"] = kept
    return cells


def _task_kind(settings: dict[str, Any]) -> tuple[str, str]:
    """(kind, what it runs) of a task's settings."""
    for field, label, key in (
        ("notebook_task", "Notebook", "notebook_path"),
        ("spark_python_task", "Python file", "python_file"),
        ("spark_jar_task", "JAR", "main_class_name"),
        ("sql_task", "SQL", "warehouse_id"),
        ("spark_submit_task", "spark-submit", "parameters"),
        ("python_wheel_task", "Python wheel", "entry_point"),
        ("run_job_task", "Run job", "job_id"),
    ):
        if settings.get(field):
            return label, str(settings[field].get(key, ""))
    return "Task", ""


@page
async def run_page(request: Request, ws: Any) -> Page:
    with ws.shared.lock:
        run, task = ws.runs.find(request.path_params["run_id"])
        require(request, "jobs", str(run.job_id), "CAN_VIEW", verify=False)
        view = run.to_api()
        selected = _pick(run, task, request.query_params.get("task"))
        detail = {
            "view": selected.to_api(),
            "widgets": dict(selected.widgets),
            "argv": list(selected.argv),
            "output": dict(selected.output) if selected.output else None,
            "kind": _task_kind(selected.settings),
            "key": selected.key,
        }
        directory = ws.runs.executor.run_dir(selected)
        active = run.state.is_active
    cells = without_echo(load_cells(directory / CELLS_FILE)) if selected.settings.get("notebook_task") else []
    failing = next((c["number"] for c in cells if "error" in c), None)
    log = runner.log_tail(directory)
    return Page(
        "run.html",
        {
            "nav": "runs",
            "run": view,
            "columns": graph_columns(view["tasks"]),
            "task": detail,
            "cells": cells,
            "failing_cell": failing,
            "log": log,
            "log_truncated": len(log.encode()) >= LOG_TAIL,
            "active": active,
            "state_class": state_class,
            "state_label": state_label,
        },
    )


routes = [Route("/ui/runs", runs_list), Route("/ui/runs/{run_id}", run_page)]
