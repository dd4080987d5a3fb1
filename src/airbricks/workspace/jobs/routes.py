"""HTTP for the Jobs API: ``/api/2.{0,1,2}/jobs/...`` onto :class:`airbricks.workspace.jobs.jobs.Jobs` and
:class:`airbricks.workspace.jobs.runs.Runs`, as one table (:data:`ROUTES`).

Each row parses its parameters, calls one model method and renders the result (``{}`` when the model returns
nothing), so this module is the table of which path calls what, plus the request-shape work: numbers sent as
strings, the legacy single-task form, page tokens. Where API versions answer differently (2.2 pages the large
arrays of ``jobs/get`` and ``runs/get``; 2.0 answers ``get-output`` of a single-task parent run), each behaviour
is its own row for its versions. The fields of the endpoints the OpenAPI description documents are declared on
their rows (the composite ones in :mod:`airbricks.workspace.jobs.schemas`).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from airbricks.workspace.core import Workspace
from airbricks.workspace.errors import PermissionDenied
from airbricks.workspace.identity.principals import Principal
from airbricks.workspace.identity.routes import caller
from airbricks.workspace.jobs.paging import job_page, run_page
from airbricks.workspace.jobs.schemas import JOB_SETTINGS, TASKS
from airbricks.workspace.jobs.task_settings import DEFAULT_TASK_KEY, key_from_name, lift_legacy_task
from airbricks.workspace.pagination import Page, page_tokens
from airbricks.workspace.params import Params, coerce_numbers
from airbricks.workspace.permissions.guard import Locate, Rule, Target, creates, field, need, run, shows
from airbricks.workspace.server.http import Endpoint, call, page_offset, page_window, read_params, workspace
from airbricks.workspace.server.openapi import BOOL, INT, STR, STRS, TAGS

ALL = ("2.0", "2.1", "2.2")
#: The versions that answer ``jobs/get`` and ``runs/get`` whole (2.2 pages their large arrays).
UNPAGED = ("2.0", "2.1")
#: The version the OpenAPI description documents (as the Jobs API reference does).
DOC = "2.1"
MAX_LIST_LIMIT = 100
#: Databricks refuses longer tokens (``runs/submit``, ``run-now``).
IDEMPOTENCY_TOKEN_MAX = 64


def _job_id(params: Params) -> int:
    return params.int("job_id", required=True)


def _run_id(params: Params) -> int:
    return params.int("run_id", required=True)


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    """Job settings from a request; its ``access_control_list`` is the permissions', not a setting."""
    settings = {k: v for k, v in body.items() if k != "access_control_list"}
    return lift_legacy_task(coerce_numbers(settings), DEFAULT_TASK_KEY)


def _check_settings(ws: Workspace, who: Principal, settings: dict[str, Any] | None) -> None:
    """What a non-admin's job settings may name: ``run_as`` only themselves (admins make a job run as another
    principal), and only existing clusters they may attach to."""
    if who.is_admin or not settings:
        return
    run_as = settings.get("run_as")
    name = (run_as.get("user_name") or run_as.get("service_principal_name")) if isinstance(run_as, dict) else None
    if name and name != who.name:
        raise PermissionDenied(
            f"User {who.name} cannot set run_as to {str(name)[:100]}: only workspace admins can make a job run as "
            "another user or service principal"
        )
    for task in settings.get("tasks") or []:
        if isinstance(task, dict) and isinstance(task.get("existing_cluster_id"), str):
            ws.permissions.check(who, "clusters", task["existing_cluster_id"], "CAN_ATTACH_TO")


def _check_notebooks(ws: Workspace, who: Principal | None, settings: dict[str, Any]) -> None:
    """A non-admin's run needs CAN_RUN on every workspace notebook its tasks run (checked at ``runs/submit`` for
    the submitter, at ``run-now`` for the job's ``run_as``); notebooks from a Git source are not workspace
    objects and are not checked."""
    if who is None or who.is_admin:
        return
    for task in settings.get("tasks") or []:
        notebook = task.get("notebook_task") if isinstance(task, dict) else None
        path = notebook.get("notebook_path") if isinstance(notebook, dict) else None
        source = notebook.get("source") or ("GIT" if settings.get("git_source") else "WORKSPACE") if notebook else None
        if isinstance(path, str) and path.startswith("/") and source != "GIT":
            ws.permissions.check_path(who, ws.objects.normalize(path), "CAN_RUN")


def _page_answer(key: str, page: Page[dict[str, Any]]) -> dict[str, Any]:
    """A list answer as the real service shapes it: no ``key`` when the page is empty, page tokens both ways."""
    result: dict[str, Any] = {key: page.items, "has_more": page.has_more} if page.items else {"has_more": False}
    return {**result, **page_tokens(page, previous=True)}


# -- jobs ------------------------------------------------------------------------------------------------------


async def _create(request: Request) -> dict[str, Any]:
    """The caller creates the job: it is its creator and owner, and (without ``run_as``) whom its runs act as."""
    who, settings = caller(request), _settings((await read_params(request)).data)
    _check_settings(workspace(request), who, settings)
    return {"job_id": workspace(request).jobs.create(settings, creator=who.name)}


def _get_job(ws: Workspace, p: Params) -> dict[str, Any]:
    return ws.jobs.get(_job_id(p))


def _get_job_paged(ws: Workspace, p: Params) -> dict[str, Any]:
    """API 2.2: the large arrays of the job's settings 100 a page (see :mod:`airbricks.workspace.jobs.paging`)."""
    return job_page(ws.jobs.get(_job_id(p)), page_offset(p))


def _list_jobs(ws: Workspace, p: Params) -> dict[str, Any]:
    offset, limit = page_window(p, default_limit=20, max_limit=MAX_LIST_LIMIT)
    page = ws.jobs.list(name=p.str("name"), expand_tasks=p.bool("expand_tasks"), offset=offset, limit=limit)
    return _page_answer("jobs", page)


async def _reset(request: Request) -> None:
    p = await read_params(request)
    settings = _settings(p.dict("new_settings", required=True) or {})
    _check_settings(workspace(request), caller(request), settings)
    workspace(request).jobs.reset(_job_id(p), settings)


async def _update(request: Request) -> None:
    p = await read_params(request)
    new_settings = p.dict("new_settings")
    _check_settings(workspace(request), caller(request), new_settings)
    settings = {k: v for k, v in new_settings.items() if k != "access_control_list"} if new_settings else None
    workspace(request).jobs.update(
        _job_id(p), coerce_numbers(settings) if settings else None, p.list("fields_to_remove")
    )


def _delete(ws: Workspace, p: Params) -> None:
    ws.jobs.delete(_job_id(p))


def _run_now(ws: Workspace, p: Params) -> dict[str, Any]:
    job = ws.jobs.get(p.int("job_id", required=True))
    _check_notebooks(ws, ws.identity.named(job.get("run_as_user_name") or ""), job.get("settings") or {})
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


# -- runs ------------------------------------------------------------------------------------------------------


async def _submit(request: Request) -> dict[str, Any]:
    """A one-time run that acts as its caller (who owns it, with the request's ``access_control_list``)."""
    p = await read_params(request)
    body = coerce_numbers({k: v for k, v in p.data.items() if k != "access_control_list"})
    settings = lift_legacy_task(body, key_from_name(p.str("run_name")))
    _check_settings(workspace(request), caller(request), {"tasks": settings.get("tasks")})
    _check_notebooks(workspace(request), caller(request), settings)
    return workspace(request).jobs.submit(
        tasks=settings["tasks"],
        run_name=p.str("run_name"),
        job_clusters=body.get("job_clusters"),
        timeout_seconds=p.int("timeout_seconds", minimum=0),
        idempotency_token=p.str("idempotency_token", max_length=IDEMPOTENCY_TOKEN_MAX),
        git_source=body.get("git_source"),
        creator=caller(request).name,
    )


def _get_run(ws: Workspace, p: Params) -> dict[str, Any]:
    return ws.runs.get(_run_id(p), include_history=p.bool("include_history"))


def _get_run_paged(ws: Workspace, p: Params) -> dict[str, Any]:
    """API 2.2: the run's large arrays 100 a page (see :mod:`airbricks.workspace.jobs.paging`)."""
    return run_page(_get_run(ws, p), page_offset(p))


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


def _repair(ws: Workspace, p: Params) -> dict[str, Any]:
    widgets = {**(p.dict("job_parameters") or {}), **(p.dict("notebook_params") or {})}
    return ws.runs.repair(
        _run_id(p),
        rerun_tasks=p.list("rerun_tasks"),
        rerun_all_failed_tasks=p.bool("rerun_all_failed_tasks"),
        rerun_dependent_tasks=p.bool("rerun_dependent_tasks"),
        latest_repair_id=p.int("latest_repair_id"),
        widgets={str(k): str(v) for k, v in widgets.items()},
    )


def _output(ws: Workspace, p: Params) -> dict[str, Any]:
    return ws.runs.output(_run_id(p), single_task_parent_ok=False)


def _output_of_single_task_parent(ws: Workspace, p: Params) -> dict[str, Any]:
    """API 2.0 still answers ``get-output`` for a single-task parent run; 2.1+ refuse every parent run."""
    return ws.runs.output(_run_id(p), single_task_parent_ok=True)


def _export(ws: Workspace, p: Params) -> dict[str, Any]:
    return ws.runs.export(_run_id(p))


def _cancel(ws: Workspace, p: Params) -> None:
    ws.runs.cancel(_run_id(p))


def _cancel_all(ws: Workspace, p: Params) -> None:
    if "job_id" in p:
        ws.jobs.cancel_all(p.int("job_id"))
    else:
        ws.runs.cancel_all()


def _delete_run(ws: Workspace, p: Params) -> None:
    ws.runs.delete(_run_id(p))


PATH = "/api/{version}/jobs/"
RUN_ID = {"run_id": INT}

ROUTES: list[Endpoint] = [
    Endpoint("POST", PATH + "create", _create, ALL, fields=JOB_SETTINGS, doc_version=DOC),
    call(
        "GET", PATH + "get", _get_job, versions=UNPAGED, fields={"job_id": INT}, required=("job_id",), doc_version=DOC
    ),
    call("GET", PATH + "get", _get_job_paged, versions=("2.2",)),
    call("GET", PATH + "list", _list_jobs, versions=ALL),
    Endpoint("POST", PATH + "reset", _reset, ALL),
    Endpoint("POST", PATH + "update", _update, ALL),
    call("POST", PATH + "delete", _delete, versions=ALL),
    call(
        "POST",
        PATH + "run-now",
        _run_now,
        versions=ALL,
        fields={"job_id": INT, "notebook_params": TAGS, "job_parameters": TAGS, "idempotency_token": STR},
        required=("job_id",),
        doc_version=DOC,
    ),
    Endpoint(
        "POST",
        PATH + "runs/submit",
        _submit,
        ALL,
        fields={"run_name": STR, "tasks": TASKS, "timeout_seconds": INT, "idempotency_token": STR},
        doc_version=DOC,
    ),
    call(
        "GET",
        PATH + "runs/get",
        _get_run,
        versions=UNPAGED,
        fields={**RUN_ID, "include_history": BOOL},
        required=("run_id",),
        doc_version=DOC,
    ),
    call("GET", PATH + "runs/get", _get_run_paged, versions=("2.2",)),
    call(
        "POST",
        PATH + "runs/repair",
        _repair,
        versions=ALL,
        fields={
            **RUN_ID,
            "rerun_tasks": STRS,
            "rerun_all_failed_tasks": BOOL,
            "rerun_dependent_tasks": BOOL,
            "latest_repair_id": INT,
        },
        required=("run_id",),
        doc_version=DOC,
    ),
    call(
        "GET",
        PATH + "runs/list",
        _list_runs,
        versions=ALL,
        fields={"job_id": INT, "active_only": BOOL, "limit": INT, "offset": INT},
        doc_version=DOC,
    ),
    call("GET", PATH + "runs/get-output", _output_of_single_task_parent, versions=("2.0",)),
    call(
        "GET",
        PATH + "runs/get-output",
        _output,
        versions=("2.1", "2.2"),
        fields=RUN_ID,
        required=("run_id",),
        doc_version=DOC,
    ),
    call("GET", PATH + "runs/export", _export, versions=ALL),
    call("POST", PATH + "runs/cancel", _cancel, versions=ALL, fields=RUN_ID, required=("run_id",), doc_version=DOC),
    call("POST", PATH + "runs/cancel-all", _cancel_all, versions=ALL),
    call("POST", PATH + "runs/delete", _delete_run, versions=ALL),
]


def _job_or_everything(_: Workspace, request: Request, params: Params) -> Target | None:
    """``runs/cancel-all``'s target: one job's runs, or (no ``job_id``) every run, which only admins may cancel."""
    if "job_id" in params:
        return Target("jobs", str(params.raw("job_id")))
    raise PermissionDenied(
        f"User {caller(request).name} cannot cancel every run of the workspace: only workspace admins can; "
        "pass job_id to cancel the runs of one job"
    )


def _acl_in_settings(params: Params) -> Any:
    """The ACL ``jobs/reset``/``update`` carry (the provider sends it inside ``new_settings``)."""
    settings = params.raw("new_settings")
    inside = settings.get("access_control_list") if isinstance(settings, dict) else None
    return inside if inside is not None else params.raw("access_control_list")


#: Who may do what to a job and its runs (:mod:`airbricks.workspace.permissions`): a run is seen and managed
#: through its job's ACL (a one-time run has its own, under its job id).
_VIEW, _MANAGE_RUN, _MANAGE = "CAN_VIEW", "CAN_MANAGE_RUN", "CAN_MANAGE"
_ON_JOB = field("jobs", "job_id")
PERMISSIONS: dict[str, Rule] = {
    "POST " + PATH + "create": creates("jobs", lambda _, answer: str(answer["job_id"])),
    "GET " + PATH + "get": need(_VIEW, _ON_JOB),
    "GET " + PATH + "list": shows("jobs", "jobs", "job_id"),
    "POST " + PATH + "reset": need(_MANAGE, _ON_JOB, _acl_in_settings),
    "POST " + PATH + "update": need(_MANAGE, _ON_JOB, _acl_in_settings),
    "POST " + PATH + "delete": need(_MANAGE, _ON_JOB),
    "POST " + PATH + "run-now": need(_MANAGE_RUN, _ON_JOB),
    "POST " + PATH + "runs/submit": creates("jobs", lambda ws, answer: str(ws.runs.find(answer["run_id"]).run.job_id)),
    "GET " + PATH + "runs/get": need(_VIEW, run()),
    "GET " + PATH + "runs/get-output": need(_VIEW, run()),
    "GET " + PATH + "runs/export": need(_VIEW, run()),
    "GET " + PATH + "runs/list": shows("runs", "jobs", "job_id"),
    "POST " + PATH + "runs/repair": need(_MANAGE_RUN, run()),
    "POST " + PATH + "runs/cancel": need(_MANAGE_RUN, run()),
    "POST " + PATH + "runs/cancel-all": need(_MANAGE_RUN, Locate(_job_or_everything)),
    "POST " + PATH + "runs/delete": need(_MANAGE_RUN, run()),
}
