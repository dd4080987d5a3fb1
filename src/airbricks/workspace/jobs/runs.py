"""Job runs: the runs' index, the ticker's pass over them, client actions (cancel, repair, delete), outputs.

A task run moves through :class:`~airbricks.workspace.jobs.run.Phase` ``WAIT`` (upstream tasks) -> ``CLUSTER``
(waiting for a RUNNING cluster) -> ``RUN`` (its process alive) -> ``DONE`` (:mod:`.phases` moves it); the run
ends when every task has. Public methods take the workspace lock and save what they changed. How a task gets
its cluster and process is :class:`airbricks.workspace.jobs.execution.TaskExecutor`'s job; new runs are built
by :mod:`.submit`. :class:`Runs` is also the :class:`~airbricks.workspace.jobs.tasks.drivers.Host` of in-server
tasks (a run job, a for-each, a SQL task).
"""

from __future__ import annotations

import builtins
import logging
import shutil
from collections.abc import Callable
from typing import Any, NamedTuple

from airbricks.workspace.errors import InvalidParameterValue, InvalidState, does_not_exist
from airbricks.workspace.jobs import attempts, queueing, submit
from airbricks.workspace.jobs import export as notebook_export
from airbricks.workspace.jobs import output as run_output
from airbricks.workspace.jobs import process as runner
from airbricks.workspace.jobs.execution import NotebookSources, TaskExecutor
from airbricks.workspace.jobs.phases import TaskPhases
from airbricks.workspace.jobs.references import References
from airbricks.workspace.jobs.rules import CANCELED, MODEL_BUG, RUN_LOST, TIMED_OUT, overall_outcome
from airbricks.workspace.jobs.run import Outcome, Phase, Run, RunState, TaskRun, logged
from airbricks.workspace.jobs.submit import NewRun
from airbricks.workspace.jobs.tasks.drivers import JobStarter, SavedQueries, SqlStatements
from airbricks.workspace.pagination import Page, paginate
from airbricks.workspace.params import to_int
from airbricks.workspace.shared import Shared

log = logging.getLogger("airbricks.workspace.jobs.runs")

KIND = "run"


class Found(NamedTuple):
    """A run id resolved: the parent run, and the task run when the id was a task run's."""

    run: Run
    task: TaskRun | None


class Runs:
    """All runs of the workspace.

    :param executor: gets clusters for tasks and runs their processes.
    :param jobs: the Jobs model, which a ``run_job_task`` starts runs of (late-bound: it holds these runs).
    :param statements: the Statement Execution engine a ``sql_task`` runs on.
    :param queries: the saved queries a ``sql_task`` names.
    """

    def __init__(
        self,
        shared: Shared,
        *,
        executor: TaskExecutor,
        jobs: Callable[[], JobStarter],
        statements: SqlStatements,
        queries: SavedQueries,
    ) -> None:
        self.shared = shared
        self.executor = executor
        self._jobs = jobs
        self.statements = statements
        self.queries = queries
        self.phases = TaskPhases(executor, host=self, retry=self._retry)
        self.runs: dict[int, Run] = {}
        self._task_parent: dict[int, int] = {}
        self._tokens: dict[str, int] = {}
        self.active: set[int] = set()
        for _ident, doc in shared.store.load(KIND):
            self._index(Run.from_store(doc))

    @property
    def jobs(self) -> JobStarter:
        return self._jobs()

    @property
    def notebooks(self) -> NotebookSources:
        """Where a ``sql_task.file`` is read (the workspace objects the executor reads notebooks from)."""
        return self.executor.notebooks

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

    def result_of(self, run_id: int) -> str | None:
        """``"ACTIVE"`` while the run is not finished, else its result state (None: no such run)."""
        with self.shared.lock:
            run = self.runs.get(run_id)
            if run is None:
                return None
            return "ACTIVE" if run.state.is_active else (run.state.result_state or run.state.life_cycle_state)

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

    def active_runs(self) -> builtins.list[dict[str, Any]]:
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

    def create(self, request: NewRun) -> Run:
        """A new PENDING run (QUEUED or SKIPPED when its job is at ``max_concurrent_runs``); the same run again
        for a known ``idempotency_token``."""
        with self.shared.lock:
            existing = self.by_token(request.token)
            if existing is not None:
                return existing
            run = submit.build_run(self.shared, request)
            run.timing.start_time = self.shared.now_ms()
            self._index(run)
            decision = queueing.admission(run, [self.runs[r] for r in self.active], request.queue_enabled)
            if decision == "queue":
                run.state = logged(run, None, queueing.queued(request.concurrency_limit or 0))
            elif decision == "skip":
                self._end_all(run, run.timing.start_time, queueing.skipped(request.concurrency_limit or 0))
            self._save(run)
            return run

    def repair(
        self,
        run_id: Any,
        *,
        rerun_tasks: builtins.list[Any] | None = None,
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
            now, page = self.shared.now_ms(), lambda rid: self._page(run, rid)
            self._adopt(run, attempts.start_repair(run, keys, repair_id, now, self._new_id, page, widgets or {}))
            self.active.add(run.run_id)
            self._save(run)
            return {"repair_id": repair_id}

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

    # -- what in-server tasks need (tasks.drivers.Host) ---------------------------------------------------

    def references(self, run: Run, task: TaskRun) -> References:
        url = self.shared.page_url("")
        return References.of_task(run, task, workspace_id=self.shared.workspace_id, workspace_url=url)

    def spawn_iteration(self, run: Run, parent: TaskRun, index: int, item: Any) -> TaskRun:
        """A new iteration of a for-each task run (``runs/get`` shows it among its parent's ``iterations``)."""
        rid = self._new_id()
        nested = submit.iteration(parent, index, item, rid, self._page(run, rid))
        run.tasks.append(nested)
        self._adopt(run, [nested])
        return nested

    def end_task(self, run: Run, task: TaskRun, outcome: Outcome) -> None:
        self.phases.finish(run, task, self.shared.now_ms(), outcome, retry=False)

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
            changed |= self.phases.step(run, task, now)
        if run.state.life_cycle_state == "PENDING" and any(t.phase in (Phase.RUN, Phase.DONE) for t in run.tasks):
            run.state = logged(run, None, RunState("RUNNING"))
            changed = True
        if all(t.phase is Phase.DONE for t in run.live):
            self._finish_run(run, now, overall_outcome(run.current))
            changed = True
        return changed

    # -- endings -------------------------------------------------------------------------------------------

    def _retry(self, run: Run, task: TaskRun, now: int) -> None:
        rid = self._new_id()
        self._adopt(run, [attempts.retry(run, task, now, rid, self._page(run, rid))])

    def _end_all(self, run: Run, now: int, outcome: Outcome) -> None:
        """End every unfinished task and the run itself with one outcome (timeout, cancel, loss)."""
        for task in run.live:
            if task.phase is not Phase.DONE:
                self.phases.finish(run, task, now, outcome, retry=False)
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
