"""``max_concurrent_runs`` and ``queue.enabled``: whether a new job run starts, waits QUEUED, or is SKIPPED."""

from __future__ import annotations

from collections.abc import Iterable

from airbricks.workspace.jobs.run import Outcome, Run, RunState


def skipped(limit: int) -> Outcome:
    return Outcome(
        "SKIPPED",
        "",
        f"Skipping this run because the limit of {limit} maximum concurrent runs has been reached.",
        "MAX_CONCURRENT_RUNS_REACHED",
        "CLIENT_ERROR",
    )


def queued(limit: int) -> RunState:
    return RunState("QUEUED", f"Queued due to reaching maximum concurrent runs of {limit}.")


def running_count(runs: Iterable[Run], job_id: int, besides: int) -> int:
    """Active runs of the job that hold a slot (queued ones do not)."""
    return sum(
        1
        for r in runs
        if r.job_id == job_id and r.run_id != besides and r.state.is_active and r.state.life_cycle_state != "QUEUED"
    )


def admission(run: Run, others: Iterable[Run], queue_enabled: bool) -> str:
    """``"run"``, ``"queue"`` or ``"skip"`` for a new run of a job with ``run.concurrency_limit``."""
    limit = run.concurrency_limit
    if limit is None or running_count(others, run.job_id, run.run_id) < limit:
        return "run"
    return "queue" if queue_enabled else "skip"
