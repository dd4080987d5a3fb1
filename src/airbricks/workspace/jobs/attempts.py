"""New task runs of a task: retries (``max_retries``) and ``runs/repair``, as rules on a :class:`Run`.

A retry or a repaired task is a new :class:`TaskRun` (new ``run_id``, ``attempt_number`` + 1) appended
to the run; the earlier attempt stays listed in ``tasks`` (``superseded``), as the Jobs API lists them.
Pure functions of the run and the time: ids come from ``new_id``, so the rules are unit-tested directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from airbricks.workspace.errors import InvalidParameterValue, InvalidState
from airbricks.workspace.jobs.run import Outcome, Phase, Run, RunState, TaskRun, Timing

NewId = Callable[[], int]
#: Results a repair with ``rerun_all_failed_tasks`` reruns.
NOT_SUCCEEDED = (
    "FAILED",
    "TIMEDOUT",
    "CANCELED",
    "UPSTREAM_FAILED",
    "UPSTREAM_CANCELED",
    "MAXIMUM_CONCURRENT_RUNS_REACHED",
)


def should_retry(task: TaskRun, outcome: Outcome, timed_out: bool) -> bool:
    """Whether the Jobs service starts another attempt after ``task`` ended with ``outcome``."""
    retries = int(task.settings.get("max_retries") or 0)
    if retries == 0 or (retries > 0 and task.attempt_number >= retries):
        return False
    if timed_out:
        return bool(task.settings.get("retry_on_timeout"))
    return outcome.result_state == "FAILED" and not outcome.cancelled


def next_attempt(
    task: TaskRun, new_id: int, page_url: str, now: int, *, delay_ms: int = 0, state: RunState | None = None
) -> TaskRun:
    """A fresh attempt of ``task``: same settings, widgets and for-each input; ``task`` is superseded."""
    task.superseded = True
    keep = {k: v for k, v in task.extra.items() if k in ("input", "index")}
    return replace(
        task,
        run_id=new_id,
        page_url=page_url,
        state=state or RunState("PENDING"),
        timing=Timing(start_time=now),
        phase=Phase.WAIT,
        cluster_id=None,
        pid=None,
        pgid=None,
        process_start=0,
        output=None,
        attempt_number=task.attempt_number + 1,
        retry_at=now + delay_ms,
        superseded=False,
        extra=keep,
    )


def retry(run: Run, task: TaskRun, now: int, new_id: int, page_url: str) -> TaskRun:
    interval = int(task.settings.get("min_retry_interval_millis") or 0)
    attempt = next_attempt(
        task, new_id, page_url, now, delay_ms=interval, state=RunState("WAITING_FOR_RETRY", "Waiting for retry")
    )
    run.tasks.append(attempt)
    return attempt


def dependents(run: Run, keys: set[str]) -> set[str]:
    """``keys`` and every task that depends on one of them, transitively."""
    out = set(keys)
    grew = True
    while grew:
        grew = False
        for t in run.current:
            if t.key not in out and any(k in out for k in t.upstream_keys):
                out.add(t.key)
                grew = True
    return out


def repair_keys(
    run: Run, rerun_tasks: list[Any] | None, rerun_all_failed: bool, rerun_dependent: bool, latest_repair_id: int | None
) -> list[str]:
    """Which tasks ``runs/repair`` reruns (in the job's order); 400/INVALID_STATE as the service refuses."""
    if run.state.is_active:
        raise InvalidState(f"Run {run.run_id} is still active: only a run that ended can be repaired.")
    if rerun_tasks and rerun_all_failed:
        raise InvalidParameterValue("Only one of rerun_tasks and rerun_all_failed_tasks can be set.")
    latest = run.history[-1]["id"] if len(run.history) > 1 else None
    if latest is not None and latest_repair_id != latest:
        raise InvalidParameterValue(
            f"The run {run.run_id} has been repaired since: pass latest_repair_id "
            f"{latest} (the last id in repair_history) to repair it again."
        )
    known = [t.key for t in run.current]
    if rerun_all_failed:
        chosen = {t.key for t in run.current if t.result_state in NOT_SUCCEEDED}
    else:
        chosen = {str(k) for k in rerun_tasks or []}
        unknown = sorted(chosen - set(known))
        if unknown:
            raise InvalidParameterValue(
                f"Task {unknown[0]} is not a task of run {run.run_id}: rerun_tasks takes "
                f"task keys ({', '.join(known)})."
            )
    if not chosen:
        raise InvalidParameterValue(
            "Nothing to repair: pass rerun_tasks, or rerun_all_failed_tasks for a run with failed tasks."
        )
    if rerun_dependent:
        chosen = dependents(run, chosen)
    return [k for k in known if k in chosen]


def start_repair(
    run: Run,
    keys: list[str],
    repair_id: int,
    now: int,
    new_id: NewId,
    page_url: Callable[[int], str],
    widgets: dict[str, str],
) -> list[TaskRun]:
    """Append new task runs for ``keys``, record the repair in ``history``, and make the run active again."""
    if not run.history:
        run.history.append(
            {
                "type": "ORIGINAL",
                "id": run.run_id,
                "start_time": run.timing.start_time,
                "end_time": run.timing.end_time,
                "state": run.state.state_json(),
                "status": run.state.status_json(),
                "task_run_ids": [t.run_id for t in run.tasks if t.iteration_of is None],
            }
        )
    fresh = []
    for key in keys:
        old = run.task(key)
        rid = new_id()
        attempt = next_attempt(old, rid, page_url(rid), now)
        attempt.widgets = {**attempt.widgets, **widgets}
        attempt.extra["repair"] = repair_id
        fresh.append(attempt)
    run.tasks.extend(fresh)
    run.state = RunState("RUNNING")
    run.timing.end_time = 0
    run.history.append(
        {
            "type": "REPAIR",
            "id": repair_id,
            "start_time": now,
            "end_time": 0,
            "state": run.state.state_json(),
            "status": run.state.status_json(),
            "task_run_ids": [t.run_id for t in fresh],
        }
    )
    return fresh


def close_repair(run: Run) -> None:
    """The run ended again: its latest repair entry gets the end and the state."""
    if run.history and run.history[-1]["type"] == "REPAIR":
        run.history[-1].update(
            end_time=run.timing.end_time, state=run.state.state_json(), status=run.state.status_json()
        )
