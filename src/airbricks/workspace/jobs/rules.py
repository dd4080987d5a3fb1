"""How tasks and runs end: the outcomes the Jobs service reports, ``run_if``, and a run's overall result.

Pure functions of task states (no clock, no I/O), so every rule is unit-tested directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from airbricks.workspace.jobs.run import Outcome, TaskRun

LOST = "The local workspace restarted while this run was in flight; the run was lost."
TASK_FAILED = "Workload failed, see run output for details"
FAILED_LIKE = ("FAILED", "TIMEDOUT", "UPSTREAM_FAILED")
CANCELED_LIKE = ("CANCELED", "UPSTREAM_CANCELED")
DONE_OK = ("SUCCESS", "EXCLUDED")

SUCCEEDED = Outcome("TERMINATED", "SUCCESS", "", "SUCCESS", "SUCCESS")
SUCCEEDED_WITH_FAILURES = Outcome("TERMINATED", "SUCCESS_WITH_FAILURES", "", "SUCCESS_WITH_FAILURES", "SUCCESS")
FAILED = Outcome("TERMINATED", "FAILED", TASK_FAILED, "RUN_EXECUTION_ERROR", "CLIENT_ERROR")
TIMED_OUT = Outcome("TERMINATED", "TIMEDOUT", "Run timed out", "RUN_EXECUTION_ERROR", "CLIENT_ERROR", True)
TASK_TIMED_OUT = Outcome("TERMINATED", "TIMEDOUT", "Task timed out", "RUN_EXECUTION_ERROR", "CLIENT_ERROR", True)
CANCELED = Outcome("TERMINATED", "CANCELED", "Run cancelled.", "USER_CANCELED", "SUCCESS", True)
RUN_LOST = Outcome("INTERNAL_ERROR", "FAILED", LOST, "INTERNAL_ERROR", "INTERNAL_ERROR")
MODEL_BUG = Outcome(
    "INTERNAL_ERROR",
    "FAILED",
    "Internal error in the local workspace while running this run; see the server log.",
    "INTERNAL_ERROR",
    "INTERNAL_ERROR",
)


def cluster_error(message: str, code: str = "CLUSTER_ERROR") -> Outcome:
    """A task that could not get (or lost) its cluster, or whose code is missing."""
    return Outcome("INTERNAL_ERROR", "FAILED", message, code, "CLIENT_ERROR")


def skipped(result_state: str, run_if: str) -> Outcome:
    message = (
        "Upstream task(s) failed."
        if result_state.startswith("UPSTREAM")
        else f"The run_if condition {run_if} of this task was not met."
    )
    return Outcome("TERMINATED", result_state, message, "SKIPPED", "SUCCESS")


def blocked_by_upstream(run_if: str, results: Sequence[str | None]) -> Outcome | None:
    """None when a task whose upstream tasks ended with ``results`` may run, else how it is skipped."""
    if not results or run_if == "ALL_DONE":
        return None
    failed = [r for r in results if r in FAILED_LIKE]
    canceled = [r for r in results if r in CANCELED_LIKE]
    succeeded = [r for r in results if r in ("SUCCESS", "SUCCESS_WITH_FAILURES")]
    if run_if == "ALL_SUCCESS":
        if all(r in ("SUCCESS", "SUCCESS_WITH_FAILURES", "EXCLUDED") for r in results):
            return None
        return skipped("UPSTREAM_CANCELED" if canceled and not failed else "UPSTREAM_FAILED", run_if)
    if run_if == "NONE_FAILED":
        return None if not failed else skipped("UPSTREAM_FAILED", run_if)
    ok = {
        "AT_LEAST_ONE_SUCCESS": bool(succeeded),
        "ALL_FAILED": len(failed) == len(results),
        "AT_LEAST_ONE_FAILED": bool(failed),
    }[run_if]
    return None if ok else skipped("EXCLUDED", run_if)


def overall_outcome(tasks: Sequence[TaskRun]) -> Outcome:
    """The run's result once every task is done, as the Jobs service decides it."""
    internal = [t for t in tasks if t.state.life_cycle_state == "INTERNAL_ERROR"]
    if internal:
        first = internal[0].state
        return Outcome(
            "INTERNAL_ERROR",
            "FAILED",
            first.state_message,
            first.termination_code or "INTERNAL_ERROR",
            first.termination_type or "INTERNAL_ERROR",
        )
    results = [t.result_state for t in tasks]
    bad = [t for t in tasks if t.result_state in ("FAILED", "TIMEDOUT")]
    if not bad and all(r in DONE_OK for r in results):
        return SUCCEEDED
    depended = {key for t in tasks for key in t.upstream_keys}
    leaves = [t for t in tasks if t.key not in depended]
    if bad and all(t.result_state in DONE_OK for t in leaves):
        return SUCCEEDED_WITH_FAILURES
    if bad and all(t.result_state != "FAILED" for t in bad):
        return TIMED_OUT
    if bad:
        culprit = bad[0]
        message = f"Task {culprit.key} failed with message: {culprit.state.state_message}."
        if "UPSTREAM_FAILED" in results:
            message += " This caused all downstream tasks to get skipped."
        return Outcome("TERMINATED", "FAILED", message, "RUN_EXECUTION_ERROR", "CLIENT_ERROR")
    if any(r in CANCELED_LIKE for r in results):
        return CANCELED
    return FAILED


EXCLUDED_BY_CONDITION = Outcome(
    "TERMINATED",
    "EXCLUDED",
    "The task was excluded because the outcome of an upstream condition task did not match its dependency.",
    "EXCLUDED",
    "SUCCESS",
)


def gate_by_conditions(run_if: str, upstream: Sequence[tuple[str | None, str | None, str | None]]) -> Outcome | None:
    """EXCLUDED when a ``depends_on[].outcome`` did not match its condition task's outcome (``ALL_SUCCESS``), or
    when every upstream task was excluded (an untaken branch stays untaken); None: decide by ``run_if``.

    ``upstream`` holds (result state, the dependency's expected outcome, the condition's actual outcome).
    """
    if not upstream or run_if == "ALL_DONE":
        return None
    mismatched = [r for r, want, got in upstream if want is not None and r == "SUCCESS" and got != want]
    effective = ["EXCLUDED" if want is not None and r == "SUCCESS" and got != want else r for r, want, got in upstream]
    if (mismatched and run_if == "ALL_SUCCESS") or all(r == "EXCLUDED" for r in effective):
        return EXCLUDED_BY_CONDITION
    return None


def ended(outcome: Outcome, message: str | None) -> Outcome:
    """``outcome`` with the task's own ``state_message`` (an in-server task says why it failed)."""
    return replace(outcome, message=message) if message else outcome
