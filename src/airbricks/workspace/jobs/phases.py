"""One task run's move on a tick: start it when its upstream tasks allow, wait for its cluster, watch its
process, and end it.

Apart from :mod:`airbricks.workspace.jobs.runs` (the runs' index, client actions, whole-run endings) so each
module reads alone: this one is the per-task half of the state machine, ``WAIT`` -> ``CLUSTER`` -> ``RUN`` ->
``DONE``. It holds no runs of its own; what it needs of them comes in through its constructor.
"""

from __future__ import annotations

from collections.abc import Callable

from airbricks.workspace.compute.cluster import USABLE_STATES
from airbricks.workspace.errors import DatabricksError
from airbricks.workspace.jobs import attempts
from airbricks.workspace.jobs.execution import TaskExecutor
from airbricks.workspace.jobs.rules import (
    FAILED,
    RUN_LOST,
    SUCCEEDED,
    TASK_TIMED_OUT,
    blocked_by_upstream,
    cluster_error,
    ended,
    gate_by_conditions,
)
from airbricks.workspace.jobs.run import Outcome, Phase, Run, RunState, TaskRun, logged
from airbricks.workspace.jobs.tasks.drivers import Host

#: Appends the next attempt of a task run that ended at a time (``max_retries``).
Retry = Callable[[Run, TaskRun, int], None]


class TaskPhases:
    """Moves task runs through their phases.

    :param executor: gets clusters for tasks and runs their processes.
    :param host: what in-server tasks need of the Jobs service (the runs).
    :param retry: appends a task run's next attempt to its run.
    """

    def __init__(self, executor: TaskExecutor, *, host: Host, retry: Retry) -> None:
        self.executor = executor
        self.clusters = executor.clusters
        self.host = host
        self.retry = retry

    def step(self, run: Run, task: TaskRun, now: int) -> bool:
        """Move ``task`` as far as it can go now; whether anything changed."""
        if task.phase is Phase.WAIT:
            return self.maybe_start(run, task, now)
        if task.phase is Phase.CLUSTER:
            return self.wait_cluster(run, task, now)
        if task.phase is Phase.RUN:
            return self.watch(run, task, now)
        return False

    def maybe_start(self, run: Run, task: TaskRun, now: int) -> bool:
        if now < task.retry_at:
            return False
        upstream = [run.task(key) for key in task.upstream_keys]
        if any(d.phase is not Phase.DONE for d in upstream):
            return False
        skip = gate_by_conditions(
            task.run_if,
            [
                (d.result_state, dep.get("outcome"), d.extra.get("condition_outcome"))
                for d, dep in zip(upstream, task.settings.get("depends_on") or [], strict=False)
            ],
        )
        if skip is None:
            skip = blocked_by_upstream(task.run_if, [d.result_state for d in upstream])
        if skip is not None:
            self.finish(run, task, now, skip)
            return True
        task.timing.start_time = task.timing.start_time if task.attempt_number else now
        try:
            task.cluster_id = self.executor.acquire_cluster(run, task)
        except DatabricksError as err:
            code = "RESOURCE_NOT_FOUND" if "does not exist" in err.message else "INVALID_CLUSTER_REQUEST"
            self.finish(run, task, now, cluster_error(err.message, code))
            return True
        task.phase = Phase.CLUSTER
        task.state = logged(run, task, RunState("PENDING", "Waiting for cluster" if task.cluster_id else ""))
        self.wait_cluster(run, task, now)
        return True

    def wait_cluster(self, run: Run, task: TaskRun, now: int) -> bool:
        cid = task.cluster_id
        if cid:
            gone = self.executor.cluster_gone(cid, starting=True)
            if gone:
                self.finish(run, task, now, cluster_error(gone))
                return True
            if self.clusters.state(cid) not in USABLE_STATES:
                return False
            self.clusters.mark_active(cid)
        try:
            proc = self.executor.start(run, task, self.host)
        except DatabricksError as err:
            self.finish(run, task, now, cluster_error(err.message, "RESOURCE_NOT_FOUND"))
            return True
        task.phase = Phase.RUN
        task.pid, task.pgid, task.process_start = proc.pid, proc.pgid, now
        task.timing.setup_duration = now - task.timing.start_time
        task.state = logged(run, task, RunState("RUNNING", "In run"))
        return True

    def watch(self, run: Run, task: TaskRun, now: int) -> bool:
        proc = self.executor.process(task)
        if proc is None:  # cannot happen within one server process; be safe
            self.finish(run, task, now, RUN_LOST)
            return True
        outcome = proc.poll()
        if outcome is not None:
            task.output = outcome
            task.timing.execution_duration = now - task.process_start
            self.finish(
                run, task, now, SUCCEEDED if outcome["status"] == "SUCCESS" else ended(FAILED, outcome.get("message"))
            )
            return True
        timeout = int(task.settings.get("timeout_seconds") or 0)
        if timeout and now - (task.process_start or task.timing.start_time) > timeout * 1000:
            self.finish(run, task, now, TASK_TIMED_OUT, timed_out=True)
            return True
        gone = self.executor.cluster_gone(task.cluster_id) if task.cluster_id else None
        if gone:
            self.finish(run, task, now, cluster_error(gone))
            return True
        return False

    def finish(
        self, run: Run, task: TaskRun, now: int, outcome: Outcome, *, timed_out: bool = False, retry: bool = True
    ) -> None:
        """End ``task`` with ``outcome`` (its process killed, its job cluster released); then its next attempt
        when its retry policy says so."""
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
            self.retry(run, task, now)
