"""Jobs (``/api/2.x/jobs``): job definitions, ``run-now`` and ``runs/submit``; runs live in :mod:`runs`.

A job document (kind ``job``) is ``{job_id, creator_user_name, created_time, settings}`` as the API returns
it. Submitting accepts the multi-task form (``tasks[]``) and the legacy single-task form (top-level
``notebook_task`` / ``spark_python_task`` with ``existing_cluster_id`` / ``new_cluster``) that the
provider's ``DatabricksSubmitRunOperator`` still posts.
"""

from __future__ import annotations

from typing import Any

from airbricks.workspace.clusters import CREATOR
from airbricks.workspace.core import now_ms
from airbricks.workspace.errors import InvalidParameterValue, does_not_exist
from airbricks.workspace.params import Params, coerce_numbers, to_int
from airbricks.workspace.runs import ACTIVE, Runs, job_cluster_keys, public, validate_tasks

KIND = "job"
LEGACY_TASK_FIELDS = ("notebook_task", "spark_python_task", "spark_jar_task", "spark_submit_task",
                      "python_wheel_task", "existing_cluster_id", "new_cluster", "libraries", "timeout_seconds",
                      "max_retries", "min_retry_interval_millis", "retry_on_timeout")
DEFAULT_TASK_KEY = "__default__"
MAX_LIST_LIMIT = 100


def settings_tasks(body: dict[str, Any], default_key: str) -> list[dict[str, Any]]:
    """The task list of a request: ``tasks`` or one task built from the legacy top-level fields."""
    tasks = body.get("tasks")
    if tasks is not None:
        if not isinstance(tasks, list):
            raise InvalidParameterValue("Invalid value for field 'tasks': expected an array")
        return tasks
    if any(body.get(f) is not None for f in ("notebook_task", "spark_python_task", "spark_jar_task",
                                              "spark_submit_task", "python_wheel_task")):
        task = {f: body[f] for f in LEGACY_TASK_FIELDS if body.get(f) is not None and f != "timeout_seconds"}
        task["task_key"] = default_key
        return [task]
    return []


def _key_from_name(name: str | None) -> str:
    """A task_key from a run name (letters, digits, ``_-``), as the service derives it for legacy submits."""
    cleaned = "".join(c if c.isalnum() or c in "_-" else "_" for c in (name or ""))[:100]
    return cleaned or DEFAULT_TASK_KEY


def _str_map(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, list):  # job_parameters may come as [{"name":..,"value":..}]
        try:
            return {str(p["name"]): str(p.get("value", p.get("default", ""))) for p in value}
        except (TypeError, KeyError):
            raise InvalidParameterValue(f"Invalid value for field '{field}': expected name/value pairs") from None
    if not isinstance(value, dict):
        raise InvalidParameterValue(f"Invalid value for field '{field}': expected an object of strings")
    return {str(k): str(v) for k, v in value.items()}


class Jobs:
    """The Jobs model: job CRUD here, run state in :attr:`runs` (ticked with the workspace clock)."""

    def __init__(self, workspace: Any) -> None:
        self.workspace = workspace
        self.jobs: dict[int, dict[str, Any]] = {int(i): d for i, d in workspace.store.load(KIND)}
        self.runs = Runs(workspace)

    # -- jobs ----------------------------------------------------------------------------------------------

    def _job(self, job_id: Any) -> dict[str, Any]:
        jid = to_int(job_id, "job_id")
        job = self.jobs.get(jid)
        if job is None:
            raise does_not_exist("Job", jid)
        return job

    @staticmethod
    def _settings(body: dict[str, Any]) -> dict[str, Any]:
        body = coerce_numbers(body)
        settings = {k: v for k, v in body.items() if k == "timeout_seconds" or k not in LEGACY_TASK_FIELDS
                    and k not in ("access_control_list", "idempotency_token")}
        settings.setdefault("name", "Untitled")
        settings["tasks"] = validate_tasks(settings_tasks(body, DEFAULT_TASK_KEY),
                                           job_cluster_keys(body.get("job_clusters")))
        settings.setdefault("max_concurrent_runs", 1)
        settings.setdefault("timeout_seconds", 0)
        settings.setdefault("email_notifications", {})
        settings.setdefault("format", "MULTI_TASK")
        return settings

    def create(self, params: Params) -> int:
        settings = self._settings(params.data)
        jid = self.workspace.store.next_id("job_id", start=1001)
        job = {"job_id": jid, "creator_user_name": CREATOR, "run_as_user_name": CREATOR,
               "created_time": now_ms(), "settings": settings}
        self.workspace.store.put(KIND, jid, job)
        self.jobs[jid] = job
        return jid

    def get(self, job_id: Any) -> dict[str, Any]:
        return self._job(job_id)

    def list(self, params: Params) -> dict[str, Any]:
        offset, limit = _page(params, default_limit=20)
        name = params.str("name")
        expand = params.bool("expand_tasks")
        jobs = [j for j in self.jobs.values() if name is None or j["settings"].get("name") == name]
        page = jobs[offset:offset + limit]
        out: list[dict[str, Any]] = []
        for job in page:
            view = dict(job)
            if not expand:
                view["settings"] = {k: v for k, v in job["settings"].items() if k not in ("tasks", "job_clusters")}
            out.append(view)
        return _page_answer("jobs", out, offset, limit, len(jobs))

    def reset(self, job_id: Any, new_settings: dict[str, Any] | None) -> None:
        job = self._job(job_id)
        if new_settings is None:
            raise InvalidParameterValue("Missing required field: new_settings")
        job["settings"] = self._settings(new_settings)
        self.workspace.store.put(KIND, job["job_id"], job)

    def update(self, job_id: Any, new_settings: dict[str, Any] | None, fields_to_remove: list[Any] | None) -> None:
        job = self._job(job_id)
        merged = dict(job["settings"])
        for field in fields_to_remove or []:
            if isinstance(field, str):
                merged.pop(field, None)
        for key, value in (new_settings or {}).items():
            if key == "tasks" and isinstance(value, list):  # tasks are merged by task_key
                by_key = {t["task_key"]: t for t in merged.get("tasks") or []}
                for task in value:
                    if isinstance(task, dict) and "task_key" in task:
                        by_key[task["task_key"]] = task
                value = list(by_key.values())
            merged[key] = value
        job["settings"] = self._settings(merged)
        self.workspace.store.put(KIND, job["job_id"], job)

    def delete(self, job_id: Any) -> None:
        job = self._job(job_id)
        now = now_ms()
        for rid in [r for r in self.runs.active if self.runs.runs[r]["job_id"] == job["job_id"]]:
            self.runs.cancel(rid, now)
        self.workspace.store.delete(KIND, job["job_id"])
        del self.jobs[job["job_id"]]

    # -- starting runs -------------------------------------------------------------------------------------

    def run_now(self, params: Params) -> dict[str, Any]:
        job = self._job(params.int("job_id", required=True))
        settings = job["settings"]
        widgets = {p["name"]: str(p.get("default", "")) for p in settings.get("parameters") or []
                   if isinstance(p, dict) and "name" in p}
        widgets.update(_str_map(params.raw("job_parameters"), "job_parameters"))
        widgets.update(_str_map(params.raw("notebook_params"), "notebook_params"))
        python_params = params.list("python_params")
        run = self.runs.create(
            job_id=job["job_id"], run_name=settings.get("name", "Untitled"), run_type="JOB_RUN",
            tasks=settings["tasks"], job_clusters=settings.get("job_clusters"),
            timeout_seconds=settings.get("timeout_seconds"), token=params.str("idempotency_token"),
            widgets=widgets, python_params=[str(p) for p in python_params] if python_params is not None else None,
            creator=CREATOR, now=now_ms(),
            extra={"job_parameters": [{"name": k, "value": v} for k, v in widgets.items()]} if widgets else None)
        return {"run_id": run["run_id"], "number_in_job": run["number_in_job"]}

    def submit(self, params: Params) -> dict[str, Any]:
        body = coerce_numbers(params.data)
        run_name = params.str("run_name") or "Untitled"
        tasks = validate_tasks(settings_tasks(body, _key_from_name(params.str("run_name"))),
                               job_cluster_keys(body.get("job_clusters")))
        token = params.str("idempotency_token")
        if token and token in self.runs.tokens:
            run = self.runs.runs[self.runs.tokens[token]]
            return {"run_id": run["run_id"]}
        jid = self.workspace.store.next_id("job_id", start=1001)
        run = self.runs.create(
            job_id=jid, run_name=run_name, run_type="SUBMIT_RUN", tasks=tasks,
            job_clusters=body.get("job_clusters"), timeout_seconds=params.int("timeout_seconds", minimum=0),
            token=token, widgets={}, python_params=None, creator=CREATOR, now=now_ms())
        return {"run_id": run["run_id"]}

    # -- reading runs --------------------------------------------------------------------------------------

    def get_run(self, run_id: Any) -> dict[str, Any]:
        run, task = self.runs.find(run_id)
        if task is not None:
            return self.runs.task_view(run, task)
        view = public(run)
        if len(run["tasks"]) == 1 and run["tasks"][0].get("cluster_instance"):
            view["cluster_instance"] = run["tasks"][0]["cluster_instance"]
        return view

    def list_runs(self, params: Params) -> dict[str, Any]:
        offset, limit = _page(params, default_limit=25)
        job_id = params.int("job_id")
        active_only, completed_only = params.bool("active_only"), params.bool("completed_only")
        if active_only and completed_only:
            raise InvalidParameterValue("active_only and completed_only cannot both be true.")
        run_type = params.str("run_type")
        start_from, start_to = params.int("start_time_from"), params.int("start_time_to")
        expand = params.bool("expand_tasks")
        selected = []
        for run in reversed(list(self.runs.runs.values())):
            active = run["state"]["life_cycle_state"] in ACTIVE
            if (job_id is not None and run["job_id"] != job_id) or (active_only and not active) or \
                    (completed_only and active) or (run_type and run["run_type"] != run_type) or \
                    (start_from and run["start_time"] < start_from) or (start_to and run["start_time"] > start_to):
                continue
            selected.append(run)
        page = [public(r) for r in selected[offset:offset + limit]]
        if not expand:
            for view in page:
                view.pop("tasks", None)
                view.pop("job_clusters", None)
        return _page_answer("runs", page, offset, limit, len(selected))

    def cancel_all(self, job_id: Any) -> None:
        job = self._job(job_id)
        now = now_ms()
        for rid in [r for r in self.runs.active if self.runs.runs[r]["job_id"] == job["job_id"]]:
            self.runs.cancel(rid, now)

    # -- for other models and the workspace clock ----------------------------------------------------------

    def is_cluster_busy(self, cluster_id: str) -> bool:
        """Whether a task run is waiting for or running on this cluster (Clusters skips auto-termination)."""
        return self.runs.is_cluster_busy(cluster_id)

    def active_runs(self) -> list[dict[str, Any]]:
        """The runs not yet finished, as ``runs/get`` shows them."""
        return [public(self.runs.runs[r]) for r in sorted(self.runs.active)]

    def recover(self) -> None:
        self.runs.recover(now_ms())

    def tick(self, now_ms: int) -> None:
        self.runs.tick(now_ms)

    def shutdown(self) -> None:
        self.runs.shutdown()


def _page(params: Params, *, default_limit: int) -> tuple[int, int]:
    """``(offset, limit)`` of a list call: ``offset``/``limit``, or the ``page_token`` a previous page gave."""
    limit = params.int("limit", default=default_limit, minimum=1, maximum=MAX_LIST_LIMIT) or default_limit
    token = params.str("page_token")
    offset = to_int(token, "page_token") if token else params.int("offset", default=0, minimum=0) or 0
    return offset, limit


def _page_answer(key: str, items: list[dict[str, Any]], offset: int, limit: int, total: int) -> dict[str, Any]:
    """A list answer as the real service shapes it: no ``key`` when the page is empty, page tokens both ways."""
    more = offset + limit < total
    result: dict[str, Any] = {key: items, "has_more": more} if items else {"has_more": False}
    if more:
        result["next_page_token"] = str(offset + limit)
    if offset:
        result["prev_page_token"] = str(max(0, offset - limit))
    return result
