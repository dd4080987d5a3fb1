"""HTTP for the Jobs API: ``/api/2.{0,1,2}/jobs/...`` onto :class:`airbricks.workspace.jobs.jobs.Jobs` and
:class:`airbricks.workspace.jobs.runs.Runs`.

Each endpoint parses its parameters, calls one model method and renders the result (``{}`` when the model
returns nothing); :func:`_endpoint` registers that shape once per path, so this module is the table of
which path calls what, plus the request-shape work: numbers sent as strings, the legacy single-task form,
page tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from airbricks.workspace.core import Workspace
from airbricks.workspace.jobs.paging import job_page, run_page
from airbricks.workspace.jobs.task_settings import DEFAULT_TASK_KEY, key_from_name, lift_legacy_task
from airbricks.workspace.pagination import Page
from airbricks.workspace.params import Params, coerce_numbers
from airbricks.workspace.server.http import page_offset, page_window, read_params, versioned, workspace

router = APIRouter()
ALL = ("2.0", "2.1", "2.2")
MAX_LIST_LIMIT = 100

ModelCall = Callable[[Workspace, Params, Request], "dict[str, Any] | None"]


def _endpoint(method: str, suffix: str, call: ModelCall) -> None:
    async def endpoint(request: Request) -> dict[str, Any] | None:
        return call(workspace(request), await read_params(request), request)

    endpoint.__name__ = suffix.replace("/", "_").replace("-", "_")
    versioned(router, [method], suffix, ALL)(endpoint)


def _job_id(params: Params) -> int:
    return params.int("job_id", required=True)  # type: ignore[return-value]


def _run_id(params: Params) -> int:
    return params.int("run_id", required=True)  # type: ignore[return-value]


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    return lift_legacy_task(coerce_numbers(body), DEFAULT_TASK_KEY)


def _page_answer(key: str, page: Page[dict[str, Any]]) -> dict[str, Any]:
    """A list answer as the real service shapes it: no ``key`` when the page is empty, page tokens both ways."""
    result: dict[str, Any] = {key: page.items, "has_more": page.has_more} if page.items else {"has_more": False}
    if page.next_offset is not None:
        result["next_page_token"] = str(page.next_offset)
    if page.prev_offset is not None:
        result["prev_page_token"] = str(page.prev_offset)
    return result


def _list_jobs(ws: Workspace, p: Params) -> dict[str, Any]:
    offset, limit = page_window(p, default_limit=20, max_limit=MAX_LIST_LIMIT)
    page = ws.jobs.list(name=p.str("name"), expand_tasks=p.bool("expand_tasks"), offset=offset, limit=limit)
    return _page_answer("jobs", page)


def _list_runs(ws: Workspace, p: Params) -> dict[str, Any]:
    offset, limit = page_window(p, default_limit=25, max_limit=MAX_LIST_LIMIT)
    page = ws.runs.list(
        job_id=p.int("job_id"),
        active_only=p.bool("active_only"),
        completed_only=p.bool("completed_only"),
        run_type=p.str("run_type"),
        start_time_from=p.int("start_time_from"),
        start_time_to=p.int("start_time_to"),
        expand_tasks=p.bool("expand_tasks"),
        offset=offset,
        limit=limit,
    )
    return _page_answer("runs", page)


#: Databricks refuses longer tokens (``runs/submit``, ``run-now``).
IDEMPOTENCY_TOKEN_MAX = 64


def _submit(ws: Workspace, p: Params) -> dict[str, Any]:
    body = coerce_numbers(p.data)
    settings = lift_legacy_task(body, key_from_name(p.str("run_name")))
    return ws.jobs.submit(
        tasks=settings["tasks"],
        run_name=p.str("run_name"),
        job_clusters=body.get("job_clusters"),
        timeout_seconds=p.int("timeout_seconds", minimum=0),
        idempotency_token=p.str("idempotency_token", max_length=IDEMPOTENCY_TOKEN_MAX),
        git_source=body.get("git_source"),
    )


def _run_now(ws: Workspace, p: Params) -> dict[str, Any]:
    return ws.jobs.run_now(
        p.int("job_id", required=True),
        job_parameters=p.raw("job_parameters"),
        notebook_params=p.raw("notebook_params"),
        python_params=p.list("python_params"),
        idempotency_token=p.str("idempotency_token", max_length=IDEMPOTENCY_TOKEN_MAX),
        queue=p.raw("queue"),
        python_named_params=p.dict("python_named_params"),
        jar_params=p.list("jar_params"),
        sql_params=p.raw("sql_params"),
    )


def _paged(
    request: Request, p: Params, page: Callable[[dict[str, Any], int], dict[str, Any]], doc: dict[str, Any]
) -> dict[str, Any]:
    """API 2.2 pages the large arrays of jobs/get and runs/get (100 a page); older versions answer them whole."""
    return page(doc, page_offset(p)) if request.url.path.startswith("/api/2.2/") else doc


def _repair(ws: Workspace, p: Params) -> dict[str, Any]:
    widgets = {**(p.dict("job_parameters") or {}), **(p.dict("notebook_params") or {})}
    latest = p.int("latest_repair_id")
    return ws.runs.repair(
        _run_id(p),
        rerun_tasks=p.list("rerun_tasks"),
        rerun_all_failed_tasks=p.bool("rerun_all_failed_tasks"),
        rerun_dependent_tasks=p.bool("rerun_dependent_tasks"),
        latest_repair_id=latest,
        widgets={str(k): str(v) for k, v in widgets.items()},
    )


def _update(ws: Workspace, p: Params) -> None:
    new_settings = p.dict("new_settings")
    ws.jobs.update(_job_id(p), coerce_numbers(new_settings) if new_settings else None, p.list("fields_to_remove"))


def _cancel_all(ws: Workspace, p: Params) -> None:
    if "job_id" in p:
        ws.jobs.cancel_all(p.int("job_id"))
    else:
        ws.runs.cancel_all()


_endpoint("POST", "jobs/create", lambda ws, p, _: {"job_id": ws.jobs.create(_settings(p.data))})
_endpoint("GET", "jobs/get", lambda ws, p, request: _paged(request, p, job_page, ws.jobs.get(_job_id(p))))
_endpoint("GET", "jobs/list", lambda ws, p, _: _list_jobs(ws, p))
_endpoint(
    "POST", "jobs/reset", lambda ws, p, _: ws.jobs.reset(_job_id(p), _settings(p.dict("new_settings", required=True)))
)  # type: ignore[arg-type]
_endpoint("POST", "jobs/update", lambda ws, p, _: _update(ws, p))
_endpoint("POST", "jobs/delete", lambda ws, p, _: ws.jobs.delete(_job_id(p)))
_endpoint("POST", "jobs/run-now", lambda ws, p, _: _run_now(ws, p))
_endpoint("POST", "jobs/runs/submit", lambda ws, p, _: _submit(ws, p))
_endpoint(
    "GET",
    "jobs/runs/get",
    lambda ws, p, request: _paged(
        request, p, run_page, ws.runs.get(_run_id(p), include_history=p.bool("include_history"))
    ),
)
_endpoint("POST", "jobs/runs/repair", lambda ws, p, _: _repair(ws, p))
_endpoint("GET", "jobs/runs/list", lambda ws, p, _: _list_runs(ws, p))
# API 2.0 still answers get-output for a single-task parent run; 2.1+ refuse every parent run.
_endpoint(
    "GET",
    "jobs/runs/get-output",
    lambda ws, p, request: ws.runs.output(_run_id(p), single_task_parent_ok=request.url.path.startswith("/api/2.0/")),
)
_endpoint("GET", "jobs/runs/export", lambda ws, p, _: ws.runs.export(_run_id(p)))
_endpoint("POST", "jobs/runs/cancel", lambda ws, p, _: ws.runs.cancel(_run_id(p)))
_endpoint("POST", "jobs/runs/cancel-all", lambda ws, p, _: _cancel_all(ws, p))
_endpoint("POST", "jobs/runs/delete", lambda ws, p, _: ws.runs.delete(_run_id(p)))
