"""A job run and its task runs as typed records: state, timings, and how they look on the wire.

:class:`airbricks.workspace.jobs.runs.Runs` moves them through their phases; this module only holds them, turns
them into the API's JSON (:meth:`Run.to_api`, :meth:`TaskRun.to_api`) and into the store's documents. What a
client never sees (phase, widgets, argv, the process, the kernel's outcome) is an attribute, never a key of
the JSON.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

log = logging.getLogger("airbricks.workspace.jobs.runs")

ACTIVE = ("PENDING", "QUEUED", "BLOCKED", "RUNNING", "TERMINATING")
#: Fields of a task's settings the run shows as given (everything but retry policy and libraries).
HIDDEN_TASK_FIELDS = ("max_retries", "min_retry_interval_millis", "retry_on_timeout", "libraries", "git_source")


class Phase(str, Enum):
    """Where a task run is: waiting for upstream tasks, for a RUNNING cluster, running, or done."""

    WAIT = "WAIT"
    CLUSTER = "CLUSTER"
    RUN = "RUN"
    DONE = "DONE"


@dataclass(frozen=True)
class Outcome:
    """How a task or run ends: life cycle and result states, message, ``termination_details`` code/type."""

    life_cycle_state: str
    result_state: str
    message: str
    code: str
    type: str
    cancelled: bool = False


@dataclass
class RunState:
    """The ``state`` (and the newer ``status``) of a run or task run."""

    life_cycle_state: str = "PENDING"
    state_message: str = ""
    result_state: str | None = None
    user_cancelled_or_timedout: bool = False
    termination_code: str | None = None
    termination_type: str | None = None

    @classmethod
    def of(cls, outcome: Outcome) -> RunState:
        return cls(
            outcome.life_cycle_state,
            outcome.message,
            outcome.result_state,
            outcome.cancelled,
            outcome.code,
            outcome.type,
        )

    @property
    def is_active(self) -> bool:
        return self.life_cycle_state in ACTIVE

    def state_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "life_cycle_state": self.life_cycle_state,
            "state_message": self.state_message,
            "user_cancelled_or_timedout": self.user_cancelled_or_timedout,
        }
        if self.result_state:
            out["result_state"] = self.result_state
        return out

    def status_json(self) -> dict[str, Any]:
        life = self.life_cycle_state
        status: dict[str, Any] = {
            "state": "TERMINATED" if life in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED") else life
        }
        if life == "QUEUED":
            status["queue_details"] = {"code": "MAX_CONCURRENT_RUNS_REACHED", "message": self.state_message}
        if self.termination_code:
            status["termination_details"] = {
                "code": self.termination_code,
                "type": self.termination_type,
                "message": self.state_message,
            }
        return status


@dataclass
class Timing:
    """Start and end (epoch ms, 0 = not yet) and the durations the API reports, in ms."""

    start_time: int = 0
    end_time: int = 0
    setup_duration: int = 0
    execution_duration: int = 0
    cleanup_duration: int = 0
    run_duration: int = 0

    def to_api(self, *, with_run_duration: bool) -> dict[str, int]:
        out = asdict(self)
        if not with_run_duration and not self.run_duration:
            out.pop("run_duration")
        return out


@dataclass
class TaskRun:
    """One task of a run: its settings as submitted, its state, and what running it needs."""

    run_id: int
    settings: dict[str, Any]
    page_url: str
    state: RunState = field(default_factory=RunState)
    timing: Timing = field(default_factory=Timing)
    phase: Phase = Phase.WAIT
    #: Notebook widgets (base_parameters overlaid with job/notebook parameters).
    widgets: dict[str, str] = field(default_factory=dict)
    #: ``spark_python_task`` arguments.
    argv: list[str] = field(default_factory=list)
    cluster_id: str | None = None
    pid: int | None = None
    pgid: int | None = None
    #: When the process started (``execution_duration`` counts from here).
    process_start: int = 0
    #: What the kernel reported (``status``, ``result``, ``error``, ``task_values``...), once it has ended.
    output: dict[str, Any] | None = None
    #: 0 for the first attempt; a retry (``max_retries``) or a repair adds one.
    attempt_number: int = 0
    #: A retry does not start before this (epoch ms; ``min_retry_interval_millis`` after the failure).
    retry_at: int = 0
    #: A later attempt (retry or repair) replaced this one: it stays listed, the state machine skips it.
    superseded: bool = False
    #: For an iteration of a ``for_each_task``: the for-each task run's id (iterations are not in ``tasks``).
    iteration_of: int | None = None
    #: What a server-side task (condition, run job, for each, SQL) keeps between ticks, and shows.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.settings["task_key"]

    @property
    def run_if(self) -> str:
        return self.settings.get("run_if", "ALL_SUCCESS")

    @property
    def upstream_keys(self) -> list[str]:
        return [d["task_key"] for d in self.settings.get("depends_on") or []]

    @property
    def result_state(self) -> str | None:
        return self.state.result_state

    def to_api(self) -> dict[str, Any]:
        view = {k: v for k, v in self.settings.items() if k not in HIDDEN_TASK_FIELDS}
        view.update(
            {
                "run_id": self.run_id,
                "attempt_number": self.attempt_number,
                **self.timing.to_api(with_run_duration=False),
                "run_if": self.run_if,
                "state": self.state.state_json(),
                "status": self.state.status_json(),
                "run_page_url": self.page_url,
            }
        )
        if self.cluster_id:
            view["cluster_instance"] = {"cluster_id": self.cluster_id}
        for kind, shown in self.extra.get("view", {}).items():  # e.g. condition_task.outcome, for_each stats
            view[kind] = {**(view.get(kind) or {}), **shown}
        return view

    def to_store(self) -> dict[str, Any]:
        data = asdict(self)
        data["phase"] = self.phase.value
        return data

    @classmethod
    def from_store(cls, data: dict[str, Any]) -> TaskRun:
        return cls(
            **{
                **data,
                "state": RunState(**data["state"]),
                "timing": Timing(**data["timing"]),
                "phase": Phase(data["phase"]),
            }
        )


@dataclass
class Run:
    """A run of a job (``run-now``) or a one-time run (``runs/submit``), with its task runs."""

    run_id: int
    job_id: int
    run_name: str
    run_type: str
    creator_user_name: str
    page_url: str
    tasks: list[TaskRun]
    state: RunState = field(default_factory=RunState)
    timing: Timing = field(default_factory=Timing)
    timeout_seconds: int = 0
    job_clusters: list[dict[str, Any]] | None = None
    #: The cluster id started for each ``job_cluster_key`` of this run.
    job_cluster_ids: dict[str, str] = field(default_factory=dict)
    idempotency_token: str | None = None
    job_parameters: list[dict[str, str]] | None = None
    #: Who the run's tasks run as (a job's ``run_as_user_name``; empty: its creator).
    run_as: str = ""
    #: ``max_concurrent_runs`` of the job when the run was made (None: a one-time run, no limit).
    concurrency_limit: int | None = None
    #: ``repair_history`` once the run was repaired: the original run, then one entry per ``runs/repair``.
    history: list[dict[str, Any]] = field(default_factory=list)
    #: For a run started by a ``run_job_task``: the parent task run (cancelled with it).
    parent_task_run_id: int | None = None
    #: How the run started (``trigger``: ONE_TIME, PERIODIC, FILE_ARRIVAL, TABLE, CONTINUOUS, ...).
    trigger: str = "ONE_TIME"
    #: ``trigger_info``, where Databricks reports one (a run job task's run id).
    trigger_info: dict[str, Any] | None = None

    @property
    def current(self) -> list[TaskRun]:
        """The latest attempt of each task (no iterations): what the state machine moves and the run's result."""
        return [t for t in self.tasks if not t.superseded and t.iteration_of is None]

    @property
    def live(self) -> list[TaskRun]:
        """Every task run the state machine still moves: latest attempts and for-each iterations."""
        return [t for t in self.tasks if not t.superseded]

    def task(self, key: str) -> TaskRun:
        """The latest attempt of the task ``key``."""
        return next(t for t in reversed(self.tasks) if t.key == key and t.iteration_of is None)

    def iterations(self, task: TaskRun) -> list[TaskRun]:
        return [t for t in self.tasks if t.iteration_of == task.run_id]

    def to_api(self, *, with_tasks: bool = True) -> dict[str, Any]:
        view: dict[str, Any] = {
            "job_id": self.job_id,
            "run_id": self.run_id,
            "number_in_job": self.run_id,
            "original_attempt_run_id": self.run_id,
            "run_name": self.run_name,
            "run_type": self.run_type,
            "creator_user_name": self.creator_user_name,
            "state": self.state.state_json(),
            "status": self.state.status_json(),
            **self.timing.to_api(with_run_duration=True),
            "attempt_number": 0,
            "format": "MULTI_TASK",
            "run_page_url": self.page_url,
            "trigger": self.trigger,
        }
        if self.trigger_info:
            view["trigger_info"] = self.trigger_info
        if self.state.life_cycle_state == "QUEUED":
            view["state"]["queue_reason"] = self.state.state_message
        if with_tasks:
            view["tasks"] = [t.to_api() for t in self.tasks if t.iteration_of is None]
            if self.job_clusters:
                view["job_clusters"] = self.job_clusters
        if self.job_parameters:
            view["job_parameters"] = self.job_parameters
        git_source = next((t.settings["git_source"] for t in self.tasks if t.settings.get("git_source")), None)
        if git_source:  # with git_snapshot.used_commit once a task checked it out
            view["git_source"] = git_source
        current = self.current
        if len(current) == 1 and current[0].cluster_id:  # a retried task: its latest attempt's cluster
            view["cluster_instance"] = {"cluster_id": current[0].cluster_id}
        return view

    def task_view(self, task: TaskRun) -> dict[str, Any]:
        """A task run as a Run object of its own (``runs/get`` / ``get-output`` metadata on a task run id)."""
        view = task.to_api()
        view.update(
            {
                "job_id": self.job_id,
                "run_name": self.run_name,
                "run_type": self.run_type,
                "number_in_job": task.run_id,
                "creator_user_name": self.creator_user_name,
                "parent_run_id": self.run_id,
            }
        )
        # The provider's DatabricksNotebookOperator reads a task run's failure from its own ``tasks`` list
        # (utils.databricks.extract_failed_task_errors), so the task run lists itself there.
        view["tasks"] = [task.to_api()]
        if task.settings.get("for_each_task"):
            view["iterations"] = [t.to_api() for t in self.iterations(task)]
        return view

    def repair_history(self) -> list[dict[str, Any]]:
        """``repair_history`` (``runs/get`` with ``include_history``): the original run, then each repair."""
        if self.history:
            return self.history
        ids = [t.run_id for t in self.tasks if t.iteration_of is None]
        return [
            {
                "type": "ORIGINAL",
                "id": self.run_id,
                "start_time": self.timing.start_time,
                "end_time": self.timing.end_time,
                "state": self.state.state_json(),
                "status": self.state.status_json(),
                "task_run_ids": ids,
            }
        ]

    def to_store(self) -> dict[str, Any]:
        data = asdict(self)
        data["tasks"] = [t.to_store() for t in self.tasks]
        return data

    @classmethod
    def from_store(cls, data: dict[str, Any]) -> Run:
        return cls(
            **{
                **data,
                "tasks": [TaskRun.from_store(t) for t in data["tasks"]],
                "state": RunState(**data["state"]),
                "timing": Timing(**data["timing"]),
            }
        )


def logged(run: Run, task: TaskRun | None, state: RunState) -> RunState:
    """``state``, which the run (or its task) enters: logged for the server's terminal (``airbricks serve``)."""
    what = f"run {run.run_id}" if task is None else f"run {run.run_id} task {task.key} (task run {task.run_id})"
    result = f" {state.result_state}" if state.result_state else ""
    log.info(
        "%s: %s%s%s", what, state.life_cycle_state, result, f" ({state.state_message})" if state.state_message else ""
    )
    return state
