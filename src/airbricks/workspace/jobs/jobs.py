"""Jobs (``/api/2.x/jobs``): job definitions, ``run-now`` and ``runs/submit``; runs live in :mod:`.runs`.

A job is ``{job_id, creator_user_name, created_time, settings}`` as the API returns it. Settings arrive
already in the multi-task form (routes lift the legacy single-task form into ``tasks``); this model
validates them, fills the service's defaults, and starts runs. Every method takes the workspace lock.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from airbricks.workspace.errors import InvalidParameterValue, ResourceAlreadyExists, does_not_exist
from airbricks.workspace.jobs.runs import Runs
from airbricks.workspace.jobs.submit import NewRun
from airbricks.workspace.jobs.task_settings import job_cluster_keys, validate_tasks
from airbricks.workspace.jobs.triggers import check_settings
from airbricks.workspace.pagination import Page, paginate
from airbricks.workspace.params import to_int
from airbricks.workspace.repos.git import check_git_source, with_git_source
from airbricks.workspace.shared import Shared

KIND = "job"


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


def complete_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Validated job settings with the service's defaults filled in."""
    out = dict(settings)
    out.setdefault("name", "Untitled")
    out["tasks"] = validate_tasks(out.get("tasks") or [], job_cluster_keys(out.get("job_clusters")))
    if out.get("git_source") is not None:
        out["git_source"] = check_git_source(out["git_source"])
    out.setdefault("max_concurrent_runs", 1)
    limit, queue = out["max_concurrent_runs"], out.get("queue")
    if not isinstance(limit, int) or not 0 <= limit <= 1000:
        raise InvalidParameterValue("Invalid value for field 'max_concurrent_runs': it must be between 0 and 1000.")
    if queue is not None and (not isinstance(queue, dict) or not isinstance(queue.get("enabled"), bool)):
        raise InvalidParameterValue("Invalid value for field 'queue': expected {\"enabled\": true|false}.")
    out.setdefault("timeout_seconds", 0)
    out.setdefault("email_notifications", {})
    out.setdefault("format", "MULTI_TASK")
    return out


class Jobs:
    """The Jobs model: job CRUD here, run state in :attr:`runs` (ticked with the workspace clock).

    :param on_change: told the id of every job created, changed or deleted (the scheduler re-reads its
        schedule or trigger then, instead of polling every job on every tick).
    """

    def __init__(self, shared: Shared, *, runs: Runs, on_change: Callable[[int], None] = lambda job_id: None) -> None:
        self.shared = shared
        self.runs = runs
        self._on_change = on_change
        self.jobs: dict[int, dict[str, Any]] = {int(i): d for i, d in shared.store.load(KIND)}

    def _job(self, job_id: Any) -> dict[str, Any]:
        jid = to_int(job_id, "job_id")
        job = self.jobs.get(jid)
        if job is None:
            raise does_not_exist("Job", jid)
        return job

    def _save(self, job: dict[str, Any]) -> None:
        self.shared.store.put(KIND, job["job_id"], job)

    # -- jobs ----------------------------------------------------------------------------------------------

    def create(self, settings: dict[str, Any], *, job_id: int | None = None, creator: str | None = None) -> int:
        """``jobs/create``; ``job_id``: the id it must have (a workspace fixture's). The id counter then moves
        past it, so ids minted later (jobs, one-time runs) never take it. ``creator`` (default: the workspace's
        user) is its creator and, without ``run_as``, whom its runs act as."""
        complete = check_settings(complete_settings(settings), self.shared.now_ms())
        creator = creator or self.shared.user_name
        with self.shared.lock:
            if job_id is not None and job_id in self.jobs:
                raise ResourceAlreadyExists(f"Job {job_id} already exists.")
            if job_id is not None:
                self.shared.store.raise_counter("job_id", job_id)
            jid = job_id if job_id is not None else self.shared.store.next_id("job_id", start=1001)
            run_as = complete["run_as"] if isinstance(complete.get("run_as"), dict) else {}
            job = {
                "job_id": jid,
                "creator_user_name": creator,
                "run_as_user_name": run_as.get("user_name") or run_as.get("service_principal_name") or creator,
                "created_time": self.shared.now_ms(),
                "settings": complete,
            }
            self._save(job)
            self.jobs[jid] = job
        self._on_change(jid)
        return jid

    def get(self, job_id: Any) -> dict[str, Any]:
        with self.shared.lock:
            return self._job(job_id)

    def list(
        self, *, name: str | None = None, expand_tasks: bool = False, offset: int = 0, limit: int = 20
    ) -> Page[dict[str, Any]]:
        with self.shared.lock:
            jobs = [j for j in self.jobs.values() if name is None or j["settings"].get("name") == name]
            page = paginate(jobs, offset, limit)
        views = []
        for job in page.items:
            view = dict(job)
            if not expand_tasks:
                view["settings"] = {k: v for k, v in job["settings"].items() if k not in ("tasks", "job_clusters")}
            views.append(view)
        return Page(views, page.offset, page.limit, page.total)

    def reset(self, job_id: Any, new_settings: dict[str, Any]) -> None:
        complete = check_settings(complete_settings(new_settings), self.shared.now_ms())
        with self.shared.lock:
            job = self._job(job_id)
            job["settings"] = complete
            self._save(job)
        self._on_change(job["job_id"])

    def update(
        self, job_id: Any, new_settings: dict[str, Any] | None, fields_to_remove: builtins.list[Any] | None
    ) -> None:
        """Merge top-level fields; tasks are merged by ``task_key``."""
        with self.shared.lock:
            job = self._job(job_id)
            merged = dict(job["settings"])
            for field in fields_to_remove or []:
                if isinstance(field, str):
                    merged.pop(field, None)
            for key, value in (new_settings or {}).items():
                if key == "tasks" and isinstance(value, list):
                    by_key = {t["task_key"]: t for t in merged.get("tasks") or []}
                    for task in value:
                        if isinstance(task, dict) and "task_key" in task:
                            by_key[task["task_key"]] = task
                    value = list(by_key.values())
                merged[key] = value
            job["settings"] = check_settings(complete_settings(merged), self.shared.now_ms())
            self._save(job)
        self._on_change(job["job_id"])

    def delete(self, job_id: Any) -> None:
        with self.shared.lock:
            job = self._job(job_id)
            self.runs.cancel_all(job["job_id"])
            self.shared.store.delete(KIND, job["job_id"])
            del self.jobs[job["job_id"]]
        self._on_change(job["job_id"])

    def cancel_all(self, job_id: Any) -> None:
        with self.shared.lock:
            self.runs.cancel_all(self._job(job_id)["job_id"])

    # -- starting runs -------------------------------------------------------------------------------------

    def run_now(
        self,
        job_id: Any,
        *,
        job_parameters: Any = None,
        notebook_params: Any = None,
        python_params: builtins.list[Any] | None = None,
        idempotency_token: str | None = None,
        parent_task_run_id: int | None = None,
        queue: Any = None,
        python_named_params: dict[str, Any] | None = None,
        jar_params: builtins.list[Any] | None = None,
        sql_params: Any = None,
        trigger: str = "ONE_TIME",
    ) -> dict[str, Any]:
        """``run-now``: job parameter defaults, overlaid with the call's parameters, become widgets (and the
        named parameters of SQL tasks: ``sql_params``, the older form); the run is QUEUED or SKIPPED when the
        job already has ``max_concurrent_runs`` active runs."""
        if python_named_params and python_params is None:  # a wheel task's named parameters, as arguments
            python_params = [f"--{k}={v}" for k, v in python_named_params.items()]
        with self.shared.lock:
            job = self._job(job_id)
            settings = job["settings"]
            widgets = {
                p["name"]: str(p.get("default", ""))
                for p in settings.get("parameters") or []
                if isinstance(p, dict) and "name" in p
            }
            widgets.update(_str_map(job_parameters, "job_parameters"))
            widgets.update(_str_map(notebook_params, "notebook_params"))
            widgets.update(_str_map(sql_params, "sql_params"))
            request = NewRun(
                job_id=job["job_id"],
                run_name=settings.get("name", "Untitled"),
                run_type="JOB_RUN",
                tasks=with_git_source(settings["tasks"], settings.get("git_source")),
                job_clusters=settings.get("job_clusters"),
                timeout_seconds=settings.get("timeout_seconds"),
                token=idempotency_token,
                widgets=widgets,
                python_params=[str(p) for p in python_params] if python_params is not None else None,
                jar_params=[str(p) for p in jar_params] if jar_params is not None else None,
                creator=self.shared.user_name,
                run_as=job["run_as_user_name"],
                job_parameters=[{"name": k, "value": v} for k, v in widgets.items()] if widgets else None,
                concurrency_limit=int(settings.get("max_concurrent_runs", 1)),
                queue_enabled=bool((queue if isinstance(queue, dict) else settings.get("queue") or {}).get("enabled")),
                parent_task_run_id=parent_task_run_id,
                trigger="RUN_JOB_TASK" if parent_task_run_id else trigger,
                trigger_info={"run_id": parent_task_run_id} if parent_task_run_id else None,
            )
            run = self.runs.create(request)
            return {"run_id": run.run_id, "number_in_job": run.run_id}

    def start_triggered(self, job_id: int, trigger: str, token: str | None = None) -> int | None:
        """A run the scheduler starts (``trigger``: PERIODIC, FILE_ARRIVAL, TABLE, CONTINUOUS...), with the
        job's parameter defaults; ``token`` makes a second start of the same firing answer the first run.
        None when the job is gone."""
        with self.shared.lock:
            if job_id not in self.jobs:
                return None
            return int(self.run_now(job_id, idempotency_token=token, trigger=trigger)["run_id"])

    def submit(
        self,
        *,
        tasks: builtins.list[Any],
        run_name: str | None = None,
        job_clusters: Any = None,
        timeout_seconds: int | None = None,
        idempotency_token: str | None = None,
        git_source: Any = None,
        creator: str | None = None,
    ) -> dict[str, Any]:
        """``runs/submit``: a one-time run (its own job id); the same run again for a known token. It acts as
        its ``creator`` (default: the workspace's user)."""
        valid = validate_tasks(tasks, job_cluster_keys(job_clusters))
        with self.shared.lock:
            known = self.runs.by_token(idempotency_token)
            if known is not None:
                return {"run_id": known.run_id}
            jid = self.shared.store.next_id("job_id", start=1001)
            run = self.runs.create(
                NewRun(
                    job_id=jid,
                    run_name=run_name or "Untitled",
                    run_type="SUBMIT_RUN",
                    tasks=with_git_source(valid, git_source),
                    job_clusters=job_clusters,
                    timeout_seconds=timeout_seconds,
                    token=idempotency_token,
                    widgets={},
                    python_params=None,
                    creator=creator or self.shared.user_name,
                )
            )
            return {"run_id": run.run_id}
