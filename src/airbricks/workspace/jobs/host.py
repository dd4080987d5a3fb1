"""The Jobs service's side of in-server tasks, retries' siblings and repair, as a part of :class:`~.runs.Runs`.

A mixin so :mod:`airbricks.workspace.jobs.runs` stays the state machine: these methods only make task runs
(for-each iterations, repaired tasks), resolve value references and end a task for a driver. They rely on
``Runs``' lock, ids, store and :meth:`~airbricks.workspace.jobs.runs.Runs._finish_task`.
"""

from __future__ import annotations

from typing import Any

from airbricks.workspace.errors import InvalidParameterValue
from airbricks.workspace.jobs import attempts, queueing
from airbricks.workspace.jobs.references import References
from airbricks.workspace.jobs.run import Outcome, Run, TaskRun, logged


def task_arguments(spec: dict[str, Any]) -> list[str]:
    """The command-line arguments of a Python-file or wheel task (``named_parameters`` as ``--name=value``)."""
    body = spec.get("spark_python_task") or spec.get("python_wheel_task") or spec.get("spark_jar_task") or {}
    if body.get("named_parameters"):
        return [f"--{k}={v}" for k, v in body["named_parameters"].items()]
    return [str(p) for p in body.get("parameters") or []]


class RunFeatures:
    """Making runs and task runs: ``create``, ``runs/repair``, and what in-server tasks need
    (:class:`airbricks.workspace.jobs.tasks.drivers.Host`)."""

    shared: Any
    active: set[int]

    def find(self, run_id: Any) -> Any: ...
    def _new_id(self) -> int: ...
    def _page(self, run: Run, rid: int) -> str: ...
    def _adopt(self, run: Run, tasks: list[TaskRun]) -> None: ...
    def _save(self, run: Run) -> None: ...
    def _index(self, run: Run) -> None: ...
    def by_token(self, token: str | None) -> Run | None: ...
    def _end_all(self, run: Run, now: int, outcome: Outcome) -> None: ...
    def _finish_task(
        self, run: Run, task: TaskRun, now: int, outcome: Outcome, *, timed_out: bool = False, retry: bool = True
    ) -> None: ...

    def repair(
        self,
        run_id: Any,
        *,
        rerun_tasks: list[Any] | None = None,
        rerun_all_failed_tasks: bool = False,
        rerun_dependent_tasks: bool = False,
        latest_repair_id: int | None = None,
        widgets: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """``runs/repair``: new task runs for the chosen tasks of an ended run; returns the ``repair_id``."""
        with self.shared.lock:
            run, task = self.find(run_id)
            if task is not None:
                raise InvalidParameterValue(f"Run {task.run_id} is a task run: repair its parent run {run.run_id}.")
            keys = attempts.repair_keys(
                run, rerun_tasks, rerun_all_failed_tasks, rerun_dependent_tasks, latest_repair_id
            )
            repair_id = self.shared.store.next_id("repair_id", start=1)
            fresh = attempts.start_repair(
                run,
                keys,
                repair_id,
                self.shared.now_ms(),
                self._new_id,
                lambda rid: self._page(run, rid),
                widgets or {},
            )
            self._adopt(run, fresh)
            self.active.add(run.run_id)
            self._save(run)
            return {"repair_id": repair_id}

    # -- what in-server tasks need (job_tasks.drivers.Host) --------------------------------------------------

    def references(self, run: Run, task: TaskRun) -> References:
        return References(
            run,
            task,
            workspace_id=self.shared.workspace_id,
            workspace_url=self.shared.page_url(""),
            item=task.extra.get("input"),
            has_item="input" in task.extra,
        )

    def spawn_iteration(self, run: Run, parent: TaskRun, index: int, item: Any) -> TaskRun:
        """A new iteration of a for-each task: its nested task with ``{{input}}`` set to ``item``."""
        spec = dict(parent.settings["for_each_task"]["task"])
        rid = self._new_id()
        nested = TaskRun(
            run_id=rid,
            settings={**spec, "run_if": spec.get("run_if", "ALL_SUCCESS"), "depends_on": []},
            page_url=self._page(run, rid),
            argv=task_arguments(spec),
            iteration_of=parent.run_id,
            extra={"input": item, "index": index},
        )
        base = (spec.get("notebook_task") or {}).get("base_parameters") or {}
        nested.widgets = {**{str(k): str(v) for k, v in base.items()}, **parent.widgets}  # job parameters win
        run.tasks.append(nested)
        self._adopt(run, [nested])
        return nested

    def end_task(self, run: Run, task: TaskRun, outcome: Outcome) -> None:
        self._finish_task(run, task, self.shared.now_ms(), outcome, retry=False)

    # -- creation ------------------------------------------------------------------------------------------

    def create(
        self,
        *,
        job_id: int,
        run_name: str,
        run_type: str,
        tasks: list[dict[str, Any]],
        job_clusters: list[dict[str, Any]] | None,
        timeout_seconds: int | None,
        token: str | None,
        widgets: dict[str, str],
        python_params: list[str] | None,
        creator: str,
        jar_params: list[str] | None = None,
        job_parameters: list[dict[str, str]] | None = None,
        concurrency_limit: int | None = None,
        queue_enabled: bool = False,
        parent_task_run_id: int | None = None,
        run_as: str = "",
    ) -> Run:
        """A new PENDING run of ``tasks`` (validated settings); the same run again for a known ``token``."""
        with self.shared.lock:
            existing = self.by_token(token)
            if existing is not None:
                return existing
            store = self.shared.store
            rid = store.next_id("run_id", start=1001)
            task_runs = []
            for spec in tasks:
                trid = store.next_id("run_id", start=1001)
                base = (spec.get("notebook_task") or {}).get("base_parameters") or {}
                override = jar_params if spec.get("spark_jar_task") is not None else python_params
                argv = override if override is not None else task_arguments(spec)
                task_runs.append(
                    TaskRun(
                        run_id=trid,
                        settings={**spec, "run_if": spec.get("run_if", "ALL_SUCCESS")},
                        page_url=self.shared.page_url(f"job/{job_id}/run/{trid}"),
                        widgets={**{str(k): str(v) for k, v in base.items()}, **widgets},
                        argv=list(argv),
                    )
                )
            run = Run(
                run_id=rid,
                job_id=job_id,
                run_name=run_name,
                run_type=run_type,
                creator_user_name=creator,
                page_url=self.shared.page_url(f"job/{job_id}/run/{rid}"),
                tasks=task_runs,
                timeout_seconds=int(timeout_seconds or 0),
                job_clusters=job_clusters or None,
                idempotency_token=token,
                job_parameters=job_parameters,
                concurrency_limit=concurrency_limit,
                parent_task_run_id=parent_task_run_id,
                run_as=run_as,
            )
            run.timing.start_time = self.shared.now_ms()
            self._index(run)
            decision = queueing.admission(run, [self.runs[r] for r in self.active], queue_enabled)
            if decision == "queue":
                run.state = logged(run, None, queueing.queued(concurrency_limit or 0))
            elif decision == "skip":
                self._end_all(run, run.timing.start_time, queueing.skipped(concurrency_limit or 0))
            self._save(run)
            return run
