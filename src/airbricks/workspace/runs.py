"""Job runs: the per-task state machine driven by the ticker, cluster acquisition, processes, outputs.

A task run moves through :class:`~airbricks.workspace.run.Phase` ``WAIT`` (upstream tasks) -> ``CLUSTER``
(waiting for a RUNNING cluster) -> ``RUN`` (its process alive) -> ``DONE``; the run ends when every task has.
Public methods take the workspace lock and save what they changed. How a task gets its cluster and process
is :class:`airbricks.workspace.task_execution.TaskExecutor`'s job.
"""

from __future__ import annotations

import logging
import shutil
from typing import Any, NamedTuple

from airbricks.workspace import notebook_export, runner
from airbricks.workspace.cluster import USABLE_STATES
from airbricks.workspace.errors import (
    DatabricksError,
    InvalidParameterValue,
    InvalidState,
    does_not_exist,
)
from airbricks.workspace.notebook_cells import CELLS_FILE
from airbricks.workspace.pagination import Page, paginate
from airbricks.workspace.params import to_int
from airbricks.workspace.run import Outcome, Phase, Run, RunState, TaskRun, logged
from airbricks.workspace.run_rules import (
    CANCELED,
    FAILED,
    MODEL_BUG,
    RUN_LOST,
    SUCCEEDED,
    TASK_TIMED_OUT,
    TIMED_OUT,
    blocked_by_upstream,
    cluster_error,
    overall_outcome,
)
from airbricks.workspace.shared import Shared
from airbricks.workspace.task_execution import TaskExecutor

log = logging.getLogger("airbricks.workspace.runs")

KIND = "run"


class Found(NamedTuple):
    """A run id resolved: the parent run, and the task run when the id was a task run's."""

    run: Run
    task: TaskRun | None


class Runs:
    """All runs of the workspace.

    :param executor: gets clusters for tasks and runs their processes.
    """

    def __init__(self, shared: Shared, *, executor: TaskExecutor) -> None:
        self.shared = shared
        self.executor = executor
        self.clusters = executor.clusters
        self.runs: dict[int, Run] = {}
        self._task_parent: dict[int, int] = {}
        self._tokens: dict[str, int] = {}
        self.active: set[int] = set()
        for _ident, doc in shared.store.load(KIND):
            self._index(Run.from_store(doc))

    # -- bookkeeping ---------------------------------------------------------------------------------------

    def _index(self, run: Run) -> None:
        self.runs[run.run_id] = run
        for task in run.tasks:
            self._task_parent[task.run_id] = run.run_id
        if run.idempotency_token:
            self._tokens[run.idempotency_token] = run.run_id
        if run.state.is_active:
            self.active.add(run.run_id)

    def _save(self, run: Run) -> None:
        self.shared.store.put(KIND, run.run_id, run.to_store())

    def find(self, run_id: Any) -> Found:
        """The parent run (and task run) of a parent or task run id; 400 when unknown."""
        rid = to_int(run_id, "run_id")
        with self.shared.lock:
            if rid in self.runs:
                return Found(self.runs[rid], None)
            parent = self._task_parent.get(rid)
            if parent is None:
                raise does_not_exist("Run", rid)
            run = self.runs[parent]
            return Found(run, next(t for t in run.tasks if t.run_id == rid))

    def by_token(self, token: str | None) -> Run | None:
        with self.shared.lock:
            return self.runs[self._tokens[token]] if token and token in self._tokens else None

    # -- creation ------------------------------------------------------------------------------------------

    def create(self, *, job_id: int, run_name: str, run_type: str, tasks: list[dict[str, Any]],
               job_clusters: list[dict[str, Any]] | None, timeout_seconds: int | None, token: str | None,
               widgets: dict[str, str], python_params: list[str] | None, creator: str,
               job_parameters: list[dict[str, str]] | None = None, run_as: str = "") -> Run:
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
                argv = python_params if python_params is not None else \
                    (spec.get("spark_python_task") or {}).get("parameters") or []
                task_runs.append(TaskRun(
                    run_id=trid, settings={**spec, "run_if": spec.get("run_if", "ALL_SUCCESS")},
                    page_url=self.shared.page_url(f"job/{job_id}/run/{trid}"),
                    widgets={**{str(k): str(v) for k, v in base.items()}, **widgets}, argv=list(argv)))
            run = Run(run_id=rid, job_id=job_id, run_name=run_name, run_type=run_type, creator_user_name=creator,
                      page_url=self.shared.page_url(f"job/{job_id}/run/{rid}"), tasks=task_runs,
                      timeout_seconds=int(timeout_seconds or 0), job_clusters=job_clusters or None,
                      idempotency_token=token, job_parameters=job_parameters, run_as=run_as)
            run.timing.start_time = self.shared.now_ms()
            self._index(run)
            self._save(run)
            return run

    # -- reading -------------------------------------------------------------------------------------------

    def get(self, run_id: Any) -> dict[str, Any]:
        """``runs/get``: a parent run, or a task run shown as a run of its own."""
        with self.shared.lock:
            run, task = self.find(run_id)
            return run.task_view(task) if task is not None else run.to_api()

    def list(self, *, job_id: int | None = None, active_only: bool = False, completed_only: bool = False,
             run_type: str | None = None, start_time_from: int | None = None, start_time_to: int | None = None,
             expand_tasks: bool = False, offset: int = 0, limit: int = 25) -> Page[dict[str, Any]]:
        """``runs/list``: newest first."""
        if active_only and completed_only:
            raise InvalidParameterValue("active_only and completed_only cannot both be true.")
        with self.shared.lock:
            selected = [run for run in reversed(list(self.runs.values())) if not (
                (job_id is not None and run.job_id != job_id) or (active_only and not run.state.is_active)
                or (completed_only and run.state.is_active) or (run_type and run.run_type != run_type)
                or (start_time_from and run.timing.start_time < start_time_from)
                or (start_time_to and run.timing.start_time > start_time_to))]
            page = paginate(selected, offset, limit)
            return Page([r.to_api(with_tasks=expand_tasks) for r in page.items], page.offset, page.limit,
                        page.total)

    def active_runs(self) -> list[dict[str, Any]]:
        """The runs not yet finished, as ``runs/get`` shows them."""
        with self.shared.lock:
            return [self.runs[r].to_api() for r in sorted(self.active)]

    def is_cluster_busy(self, cluster_id: str) -> bool:
        """Whether a task run waits for or runs on this cluster (it is then never auto-terminated)."""
        with self.shared.lock:
            return any(t.cluster_id == cluster_id and t.phase in (Phase.CLUSTER, Phase.RUN)
                       for rid in self.active for t in self.runs[rid].tasks)

    def output(self, run_id: Any, *, single_task_parent_ok: bool) -> dict[str, Any]:
        """``runs/get-output`` of a task run (API 2.0 also accepts a single-task parent run)."""
        with self.shared.lock:
            run, task = self.find(run_id)
            if task is None:
                if len(run.tasks) != 1 or not single_task_parent_ok:
                    raise InvalidParameterValue(
                        "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the "
                        "output of each individual task run instead.")
                task = run.tasks[0]
            out: dict[str, Any] = {"metadata": run.task_view(task)}
            outcome = task.output
            if outcome is None:
                if task.state.life_cycle_state == "INTERNAL_ERROR":
                    out["error"] = task.state.state_message
                return out
            if outcome["status"] == "FAILED":
                out["error"] = outcome.get("error", "")
                out["error_trace"] = outcome.get("error_trace", "")
            elif task.settings.get("notebook_task"):
                out["notebook_output"] = ({"result": outcome["result"], "truncated": bool(outcome.get("truncated"))}
                                          if outcome.get("result") is not None else {})
            if any(task.settings.get(k) for k in ("spark_python_task", "spark_jar_task", "spark_submit_task")):
                out["logs"] = runner.log_tail(runner.run_dir(self.shared.data_dir, task.run_id))
                out["logs_truncated"] = False
            return out

    def export(self, run_id: Any) -> dict[str, Any]:
        """``runs/export``: the notebook of a task run as HTML with its cells' outputs."""
        with self.shared.lock:
            run, task = self.find(run_id)
            if task is None:
                if len(run.tasks) != 1:
                    raise InvalidParameterValue("Exporting runs with multiple tasks is not supported. Please export "
                                                "each task run instead.")
                task = run.tasks[0]
            notebook = task.settings.get("notebook_task")
            if not notebook:
                raise InvalidParameterValue(f"Run {task.run_id} is not a notebook run: only notebook runs can be "
                                            "exported.")
            cells = self.executor.run_dir(task) / CELLS_FILE
            live = None if task.phase is Phase.DONE else self.executor.live_redactor(task).data  # files: at the end
        return notebook_export.views(notebook["notebook_path"], cells, live)

    # -- client actions ------------------------------------------------------------------------------------

    def cancel(self, run_id: Any) -> None:
        with self.shared.lock:
            run, _ = self.find(run_id)
            if run.run_id in self.active:
                self._end_all(run, self.shared.now_ms(), CANCELED)
                self._save(run)

    def cancel_all(self, job_id: int | None = None) -> None:
        """Cancel every active run (of one job, when ``job_id`` is given)."""
        with self.shared.lock:
            for rid in sorted(self.active):
                if job_id is None or self.runs[rid].job_id == job_id:
                    self.cancel(rid)

    def delete(self, run_id: Any) -> None:
        with self.shared.lock:
            run, task = self.find(run_id)
            if task is not None:
                raise InvalidParameterValue(f"Run {task.run_id} is a task run: delete its parent run "
                                            f"{run.run_id} instead.")
            if run.run_id in self.active:
                raise InvalidState(f"Run {run.run_id} is not in a terminal state and cannot be deleted: cancel it "
                                   "first.")
            self.shared.store.delete(KIND, run.run_id)
            del self.runs[run.run_id]
            for t in run.tasks:
                self._task_parent.pop(t.run_id, None)
                shutil.rmtree(runner.run_dir(self.shared.data_dir, t.run_id), ignore_errors=True)
            if run.idempotency_token:
                self._tokens.pop(run.idempotency_token, None)

    # -- the ticker ----------------------------------------------------------------------------------------

    def tick(self, now: int) -> None:
        with self.shared.lock:
            self.executor.reap()
            for rid in list(self.active):
                run = self.runs.get(rid)
                if run is None:
                    self.active.discard(rid)
                    continue
                try:
                    if self._advance(run, now):
                        self._save(run)
                except Exception:  # one broken run must not stop the others
                    log.exception("run %s failed to advance", rid)
                    self._end_all(run, now, MODEL_BUG)
                    self._save(run)

    def _advance(self, run: Run, now: int) -> bool:
        if run.timeout_seconds and now - run.timing.start_time > run.timeout_seconds * 1000:
            self._end_all(run, now, TIMED_OUT)
            return True
        changed = False
        for task in run.tasks:
            if task.phase is Phase.WAIT:
                changed |= self._maybe_start(run, task, now)
            elif task.phase is Phase.CLUSTER:
                changed |= self._wait_cluster(run, task, now)
            elif task.phase is Phase.RUN:
                changed |= self._watch(run, task, now)
        if run.state.life_cycle_state == "PENDING" and any(t.phase in (Phase.RUN, Phase.DONE) for t in run.tasks):
            run.state = logged(run, None, RunState("RUNNING"))
            changed = True
        if all(t.phase is Phase.DONE for t in run.tasks):
            self._finish_run(run, now, overall_outcome(run.tasks))
            changed = True
        return changed

    def _maybe_start(self, run: Run, task: TaskRun, now: int) -> bool:
        upstream = [run.task(key) for key in task.upstream_keys]
        if any(d.phase is not Phase.DONE for d in upstream):
            return False
        skip = blocked_by_upstream(task.run_if, [d.result_state for d in upstream])
        if skip is not None:
            self._finish_task(run, task, now, skip)
            return True
        task.timing.start_time = now
        try:
            task.cluster_id = self.executor.acquire_cluster(run, task)
        except DatabricksError as err:
            code = "RESOURCE_NOT_FOUND" if "does not exist" in err.message else "INVALID_CLUSTER_REQUEST"
            self._finish_task(run, task, now, cluster_error(err.message, code))
            return True
        task.phase = Phase.CLUSTER
        task.state = logged(run, task, RunState("PENDING", "Waiting for cluster" if task.cluster_id else ""))
        self._wait_cluster(run, task, now)
        return True

    def _wait_cluster(self, run: Run, task: TaskRun, now: int) -> bool:
        cid = task.cluster_id
        if cid:
            gone = self.executor.cluster_gone(cid, starting=True)
            if gone:
                self._finish_task(run, task, now, cluster_error(gone))
                return True
            if self.clusters.state(cid) not in USABLE_STATES:
                return False
            self.clusters.mark_active(cid)
        try:
            proc = self.executor.start(task, run.run_as or run.creator_user_name)
        except DatabricksError as err:
            self._finish_task(run, task, now, cluster_error(err.message, "RESOURCE_NOT_FOUND"))
            return True
        task.phase = Phase.RUN
        task.pid, task.pgid, task.process_start = proc.pid, proc.pgid, now
        task.timing.setup_duration = now - task.timing.start_time
        task.state = logged(run, task, RunState("RUNNING", "In run"))
        return True

    def _watch(self, run: Run, task: TaskRun, now: int) -> bool:
        proc = self.executor.process(task)
        if proc is None:  # cannot happen within one server process; be safe
            self._finish_task(run, task, now, RUN_LOST)
            return True
        outcome = proc.poll()
        if outcome is not None:
            task.output = outcome
            task.timing.execution_duration = now - task.process_start
            self._finish_task(run, task, now, SUCCEEDED if outcome["status"] == "SUCCESS" else FAILED)
            return True
        timeout = int(task.settings.get("timeout_seconds") or 0)
        if timeout and now - task.timing.start_time > timeout * 1000:
            self._finish_task(run, task, now, TASK_TIMED_OUT)
            return True
        gone = self.executor.cluster_gone(task.cluster_id) if task.cluster_id else None
        if gone:
            self._finish_task(run, task, now, cluster_error(gone))
            return True
        return False

    # -- endings -------------------------------------------------------------------------------------------

    def _finish_task(self, run: Run, task: TaskRun, now: int, outcome: Outcome) -> None:
        self.executor.kill(task)
        timing = task.timing
        if task.phase is Phase.RUN and not timing.execution_duration:
            timing.execution_duration = now - (task.process_start or now)
        task.phase = Phase.DONE
        if not timing.start_time:
            timing.start_time = now
        timing.end_time = now
        timing.run_duration = now - timing.start_time
        task.state = logged(run, task, RunState.of(outcome))
        if task.cluster_id and task.settings.get("new_cluster"):
            self.executor.release_job_cluster(task.cluster_id)
        if task.cluster_id:
            self.executor.mark_active(task.cluster_id)

    def _end_all(self, run: Run, now: int, outcome: Outcome) -> None:
        """End every unfinished task and the run itself with one outcome (timeout, cancel, loss)."""
        for task in run.tasks:
            if task.phase is not Phase.DONE:
                self._finish_task(run, task, now, outcome)
        self._finish_run(run, now, outcome)

    def _finish_run(self, run: Run, now: int, outcome: Outcome) -> None:
        for cid in run.job_cluster_ids.values():
            self.executor.release_job_cluster(cid)
        timing = run.timing
        timing.end_time = now
        timing.run_duration = now - timing.start_time
        timing.setup_duration = sum(t.timing.setup_duration for t in run.tasks)
        timing.execution_duration = sum(t.timing.execution_duration for t in run.tasks)
        starts = [t.timing.start_time for t in run.tasks if t.timing.start_time]
        if starts:
            timing.start_time = min(timing.start_time, *starts)
        run.state = logged(run, None, RunState.of(outcome))
        self.active.discard(run.run_id)

    # -- lifecycle -----------------------------------------------------------------------------------------

    def recover(self) -> None:
        """Runs in flight when the previous server process died are lost: kill their processes, end them."""
        with self.shared.lock:
            now = self.shared.now_ms()
            for rid in sorted(self.active):
                run = self.runs[rid]
                for task in run.tasks:
                    self.executor.kill_leftover(task)
                self._end_all(run, now, RUN_LOST)
                self._save(run)

    def shutdown(self) -> None:
        with self.shared.lock:
            self.executor.shutdown()
