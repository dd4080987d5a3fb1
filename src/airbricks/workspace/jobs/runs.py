"""Job runs: the per-task state machine driven by the ticker, cluster acquisition, processes, outputs.

A task run moves through :class:`~airbricks.workspace.jobs.run.Phase` ``WAIT`` (upstream tasks) -> ``CLUSTER``
(waiting for a RUNNING cluster) -> ``RUN`` (its process alive) -> ``DONE``; the run ends when every task has.
Public methods take the workspace lock and save what they changed. How a task gets its cluster and process
is :class:`airbricks.workspace.jobs.execution.TaskExecutor`'s job.
"""

from __future__ import annotations

import logging
import shutil
from typing import Any, NamedTuple

from airbricks.workspace.compute.cluster import USABLE_STATES
from airbricks.workspace.errors import (
    DatabricksError,
    InvalidParameterValue,
    InvalidState,
    does_not_exist,
)
from airbricks.workspace.jobs import attempts, queueing
from airbricks.workspace.jobs import export as notebook_export
from airbricks.workspace.jobs import output as run_output
from airbricks.workspace.jobs import process as runner
from airbricks.workspace.jobs.execution import TaskExecutor
from airbricks.workspace.jobs.host import RunFeatures
from airbricks.workspace.jobs.rules import (
    CANCELED,
    FAILED,
    MODEL_BUG,
    RUN_LOST,
    SUCCEEDED,
    TASK_TIMED_OUT,
    TIMED_OUT,
    blocked_by_upstream,
    cluster_error,
    ended,
    gate_by_conditions,
    overall_outcome,
)
from airbricks.workspace.jobs.run import Outcome, Phase, Run, RunState, TaskRun, logged
from airbricks.workspace.pagination import Page, paginate
from airbricks.workspace.params import to_int
from airbricks.workspace.shared import Shared

log = logging.getLogger("airbricks.workspace.jobs.runs")

KIND = "run"


class Found(NamedTuple):
    """A run id resolved: the parent run, and the task run when the id was a task run's."""

    run: Run
    task: TaskRun | None


class Runs(RunFeatures):
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
        executor.host = self
        #: Set by the workspace: the Jobs model (run_job_task), statements and saved queries (sql_task).
        self.jobs: Any = None
        self.statements: Any = None
        self.queries: Any = None
        self.notebooks = executor.notebooks
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

    def _adopt(self, run: Run, tasks: list[TaskRun]) -> None:
        for task in tasks:
            self._task_parent[task.run_id] = run.run_id

    def _new_id(self) -> int:
        return self.shared.store.next_id("run_id", start=1001)

    def _page(self, run: Run, rid: int) -> str:
        return self.shared.page_url(f"job/{run.job_id}/run/{rid}")

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

    # -- reading -------------------------------------------------------------------------------------------

    def get(self, run_id: Any, *, include_history: bool = False) -> dict[str, Any]:
        """``runs/get``: a parent run (with ``repair_history`` on request), or a task run as a run of its own."""
        with self.shared.lock:
            run, task = self.find(run_id)
            if task is not None:
                return run.task_view(task)
            view = run.to_api()
            if include_history or run.history:
                view["repair_history"] = run.repair_history()
            return view

    def run_of(self, run_id: int) -> Run | None:
        return self.runs.get(run_id)

    def list(
        self,
        *,
        job_id: int | None = None,
        active_only: bool = False,
        completed_only: bool = False,
        run_type: str | None = None,
        start_time_from: int | None = None,
        start_time_to: int | None = None,
        expand_tasks: bool = False,
        offset: int = 0,
        limit: int = 25,
    ) -> Page[dict[str, Any]]:
        """``runs/list``: newest first."""
        if active_only and completed_only:
            raise InvalidParameterValue("active_only and completed_only cannot both be true.")
        with self.shared.lock:
            selected = [
                run
                for run in reversed(list(self.runs.values()))
                if not (
                    (job_id is not None and run.job_id != job_id)
                    or (active_only and not run.state.is_active)
                    or (completed_only and run.state.is_active)
                    or (run_type and run.run_type != run_type)
                    or (start_time_from and run.timing.start_time < start_time_from)
                    or (start_time_to and run.timing.start_time > start_time_to)
                )
            ]
            page = paginate(selected, offset, limit)
            return Page([r.to_api(with_tasks=expand_tasks) for r in page.items], page.offset, page.limit, page.total)

    def active_runs(self) -> list[dict[str, Any]]:
        """The runs not yet finished, as ``runs/get`` shows them."""
        with self.shared.lock:
            return [self.runs[r].to_api() for r in sorted(self.active)]

    def is_cluster_busy(self, cluster_id: str) -> bool:
        """Whether a task run waits for or runs on this cluster (it is then never auto-terminated)."""
        with self.shared.lock:
            return any(
                t.cluster_id == cluster_id and t.phase in (Phase.CLUSTER, Phase.RUN)
                for rid in self.active
                for t in self.runs[rid].tasks
            )

    def output(self, run_id: Any, *, single_task_parent_ok: bool) -> dict[str, Any]:
        """``runs/get-output`` of a task run (API 2.0 also accepts a single-task parent run)."""
        with self.shared.lock:
            run, task = self.find(run_id)
            return run_output.output(run, task, self.shared.data_dir, single_task_parent_ok=single_task_parent_ok)

    def export(self, run_id: Any) -> dict[str, Any]:
        """``runs/export``: the notebook of a task run as HTML with its cells' outputs."""
        with self.shared.lock:
            run, task = self.find(run_id)
            path, cells = run_output.exported(run, task, self.executor.run_dir)
            task = task or run.current[0]
            live = None if task.phase is Phase.DONE else self.executor.live_redactor(task).data  # files: at the end
        return notebook_export.views(path, cells, live)

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
                raise InvalidParameterValue(
                    f"Run {task.run_id} is a task run: delete its parent run {run.run_id} instead."
                )
            if run.run_id in self.active:
                raise InvalidState(
                    f"Run {run.run_id} is not in a terminal state and cannot be deleted: cancel it first."
                )
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
            self._dequeue()
            for rid in sorted(self.active):
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

    def _dequeue(self) -> None:
        """Queued runs start, oldest first, when their job has a free slot."""
        for rid in sorted(self.active):
            run = self.runs[rid]
            if (
                run.state.life_cycle_state == "QUEUED"
                and queueing.admission(run, [self.runs[r] for r in self.active], True) == "run"
            ):
                run.state = logged(run, None, RunState("PENDING"))
                run.timing.start_time = self.shared.now_ms()
                self._save(run)

    def _advance(self, run: Run, now: int) -> bool:
        if run.state.life_cycle_state == "QUEUED":
            return False
        if run.timeout_seconds and now - run.timing.start_time > run.timeout_seconds * 1000:
            self._end_all(run, now, TIMED_OUT)
            return True
        changed = False
        for task in run.live:
            if task.phase is Phase.WAIT:
                changed |= self._maybe_start(run, task, now)
            elif task.phase is Phase.CLUSTER:
                changed |= self._wait_cluster(run, task, now)
            elif task.phase is Phase.RUN:
                changed |= self._watch(run, task, now)
        if run.state.life_cycle_state == "PENDING" and any(t.phase in (Phase.RUN, Phase.DONE) for t in run.tasks):
            run.state = logged(run, None, RunState("RUNNING"))
            changed = True
        if all(t.phase is Phase.DONE for t in run.live):
            self._finish_run(run, now, overall_outcome(run.current))
            changed = True
        return changed

    def _maybe_start(self, run: Run, task: TaskRun, now: int) -> bool:
        if now < task.retry_at:
            return False
        upstream = [run.task(key) for key in task.upstream_keys]
        if any(d.phase is not Phase.DONE for d in upstream):
            return False
        skip = gate_by_conditions(
            task.run_if,
            [
                (d.result_state, dep.get("outcome"), d.extra.get("condition_outcome"))
                for d, dep in zip(upstream, task.settings.get("depends_on") or [])
            ],
        )
        if skip is None:
            skip = blocked_by_upstream(task.run_if, [d.result_state for d in upstream])
        if skip is not None:
            self._finish_task(run, task, now, skip)
            return True
        task.timing.start_time = task.timing.start_time if task.attempt_number else now
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
            proc = self.executor.start(run, task)
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
            self._finish_task(
                run, task, now, SUCCEEDED if outcome["status"] == "SUCCESS" else ended(FAILED, outcome.get("message"))
            )
            return True
        timeout = int(task.settings.get("timeout_seconds") or 0)
        if timeout and now - (task.process_start or task.timing.start_time) > timeout * 1000:
            self._finish_task(run, task, now, TASK_TIMED_OUT, timed_out=True)
            return True
        gone = self.executor.cluster_gone(task.cluster_id) if task.cluster_id else None
        if gone:
            self._finish_task(run, task, now, cluster_error(gone))
            return True
        return False

    # -- endings -------------------------------------------------------------------------------------------

    def _finish_task(
        self, run: Run, task: TaskRun, now: int, outcome: Outcome, *, timed_out: bool = False, retry: bool = True
    ) -> None:
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
        if retry and attempts.should_retry(task, outcome, timed_out):
            rid = self._new_id()
            self._adopt(run, [attempts.retry(run, task, now, rid, self._page(run, rid))])

    def _end_all(self, run: Run, now: int, outcome: Outcome) -> None:
        """End every unfinished task and the run itself with one outcome (timeout, cancel, loss)."""
        for task in run.live:
            if task.phase is not Phase.DONE:
                self._finish_task(run, task, now, outcome, retry=False)
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
        attempts.close_repair(run)
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
