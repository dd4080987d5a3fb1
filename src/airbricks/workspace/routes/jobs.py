"""HTTP for the Jobs API: ``/api/2.{0,1,2}/jobs/...`` onto :class:`airbricks.workspace.jobs.Jobs`.

Every endpoint reads its parameters, calls the model under the workspace lock and answers its result (``{}``
when the model returns nothing); :func:`_endpoint` registers that shape once per path, so this module is
only the table of which path calls what.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from airbricks.workspace.core import now_ms
from airbricks.workspace.jobs import Jobs
from airbricks.workspace.params import Params
from airbricks.workspace.routes import read_params, versioned, workspace

router = APIRouter()
ALL = ("2.0", "2.1", "2.2")

ModelCall = Callable[[Jobs, Params, Request], "dict[str, Any] | None"]


def _endpoint(method: str, suffix: str, call: ModelCall) -> None:
    async def endpoint(request: Request) -> dict[str, Any]:
        params = await read_params(request)
        ws = workspace(request)
        with ws.lock:
            result = call(ws.jobs, params, request)
        return {} if result is None else result

    endpoint.__name__ = suffix.replace("/", "_").replace("-", "_")
    versioned(router, [method], suffix, ALL)(endpoint)


def _job_id(params: Params) -> int:
    return params.int("job_id", required=True)  # type: ignore[return-value]


def _run_id(params: Params) -> int:
    return params.int("run_id", required=True)  # type: ignore[return-value]


def _cancel_all(jobs: Jobs, params: Params) -> None:
    if "job_id" in params:
        jobs.cancel_all(params.int("job_id"))
        return
    now = now_ms()
    for rid in list(jobs.runs.active):
        jobs.runs.cancel(rid, now)


_endpoint("POST", "jobs/create", lambda jobs, p, _: {"job_id": jobs.create(p)})
_endpoint("GET", "jobs/get", lambda jobs, p, _: jobs.get(_job_id(p)))
_endpoint("GET", "jobs/list", lambda jobs, p, _: jobs.list(p))
_endpoint("POST", "jobs/reset", lambda jobs, p, _: jobs.reset(_job_id(p), p.dict("new_settings", required=True)))
_endpoint("POST", "jobs/update",
          lambda jobs, p, _: jobs.update(_job_id(p), p.dict("new_settings"), p.list("fields_to_remove")))
_endpoint("POST", "jobs/delete", lambda jobs, p, _: jobs.delete(_job_id(p)))
_endpoint("POST", "jobs/run-now", lambda jobs, p, _: jobs.run_now(p))
_endpoint("POST", "jobs/runs/submit", lambda jobs, p, _: jobs.submit(p))
_endpoint("GET", "jobs/runs/get", lambda jobs, p, _: jobs.get_run(_run_id(p)))
_endpoint("GET", "jobs/runs/list", lambda jobs, p, _: jobs.list_runs(p))
# API 2.0 still answers get-output for a single-task parent run; 2.1+ refuse every parent run.
_endpoint("GET", "jobs/runs/get-output", lambda jobs, p, request: jobs.runs.output(
    _run_id(p), single_task_parent_ok=request.url.path.startswith("/api/2.0/")))
_endpoint("POST", "jobs/runs/cancel", lambda jobs, p, _: jobs.runs.cancel(_run_id(p), now_ms()))
_endpoint("POST", "jobs/runs/cancel-all", lambda jobs, p, _: _cancel_all(jobs, p))
_endpoint("POST", "jobs/runs/delete", lambda jobs, p, _: jobs.runs.delete(_run_id(p)))
