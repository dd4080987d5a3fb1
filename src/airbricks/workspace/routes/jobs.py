"""HTTP for the Jobs API: ``/api/2.{0,1,2}/jobs/...`` onto :class:`airbricks.workspace.jobs.Jobs`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from airbricks.workspace.core import now_ms
from airbricks.workspace.routes import read_params, versioned, workspace

router = APIRouter()
ALL = ("2.0", "2.1", "2.2")


@versioned(router, ["POST"], "jobs/create", ALL)
async def create(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    with ws.lock:
        return {"job_id": ws.jobs.create(params)}


@versioned(router, ["GET"], "jobs/get", ALL)
async def get(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    with ws.lock:
        return ws.jobs.get(params.int("job_id", required=True))


@versioned(router, ["GET"], "jobs/list", ALL)
async def list_jobs(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    with ws.lock:
        return ws.jobs.list(params)


@versioned(router, ["POST"], "jobs/reset", ALL)
async def reset(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    with ws.lock:
        ws.jobs.reset(params.int("job_id", required=True), params.dict("new_settings", required=True))
    return {}


@versioned(router, ["POST"], "jobs/update", ALL)
async def update(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    with ws.lock:
        ws.jobs.update(params.int("job_id", required=True), params.dict("new_settings"),
                       params.list("fields_to_remove"))
    return {}


@versioned(router, ["POST"], "jobs/delete", ALL)
async def delete(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    with ws.lock:
        ws.jobs.delete(params.int("job_id", required=True))
    return {}


@versioned(router, ["POST"], "jobs/run-now", ALL)
async def run_now(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    with ws.lock:
        return ws.jobs.run_now(params)


@versioned(router, ["POST"], "jobs/runs/submit", ALL)
async def submit(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    with ws.lock:
        return ws.jobs.submit(params)


@versioned(router, ["GET"], "jobs/runs/get", ALL)
async def get_run(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    with ws.lock:
        return ws.jobs.get_run(params.int("run_id", required=True))


@versioned(router, ["GET"], "jobs/runs/list", ALL)
async def list_runs(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    with ws.lock:
        return ws.jobs.list_runs(params)


@versioned(router, ["GET"], "jobs/runs/get-output", ALL)
async def get_output(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    legacy = request.url.path.startswith("/api/2.0/")  # 2.0 still answers for a single-task parent run
    with ws.lock:
        return ws.jobs.runs.output(params.int("run_id", required=True), single_task_parent_ok=legacy)


@versioned(router, ["POST"], "jobs/runs/cancel", ALL)
async def cancel(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    with ws.lock:
        ws.jobs.runs.cancel(params.int("run_id", required=True), now_ms())
    return {}


@versioned(router, ["POST"], "jobs/runs/cancel-all", ALL)
async def cancel_all(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    with ws.lock:
        if "job_id" in params:
            ws.jobs.cancel_all(params.int("job_id"))
        else:
            now = now_ms()
            for rid in list(ws.jobs.runs.active):
                ws.jobs.runs.cancel(rid, now)
    return {}


@versioned(router, ["POST"], "jobs/runs/delete", ALL)
async def delete_run(request: Request) -> dict[str, Any]:
    params = await read_params(request)
    ws = workspace(request)
    with ws.lock:
        ws.jobs.runs.delete(params.int("run_id", required=True))
    return {}
