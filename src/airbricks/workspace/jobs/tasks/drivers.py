"""Task types the server runs itself, as process-like objects the run state machine polls each tick.

Each driver has the :class:`airbricks.workspace.jobs.execution.Process` shape (``poll``/``kill``/``reaped``;
pid 0: nothing to kill after a restart), so :class:`airbricks.workspace.jobs.runs.Runs` treats a condition
or a run-job task like a kernel. ``poll`` returns the outcome dict a kernel would write (``status``,
``error``, and ``message``: the task's ``state_message`` when it is not the generic one).
"""

from __future__ import annotations

from typing import Any, Protocol

from airbricks.workspace.errors import DatabricksError
from airbricks.workspace.jobs.references import References
from airbricks.workspace.jobs.run import Outcome, Run, TaskRun
from airbricks.workspace.params import Params

#: Why the types that need a service the local workspace does not have end FAILED.
REFUSED = {
    "dbt_task": "dbt_task is not supported by the local airbricks workspace: it has no dbt runtime. Run dbt from "
    "a notebook or a spark_python_task (pip install dbt-spark), or on a real Databricks workspace.",
    "pipeline_task": "pipeline_task is not supported by the local airbricks workspace: it has no Delta Live Tables"
    " (pipelines) service. Run the pipeline's notebooks as notebook tasks instead.",
    "clean_rooms_notebook_task": "clean_rooms_notebook_task is not supported by the local airbricks workspace: it "
    "has no clean rooms.",
    "dashboard_task": "dashboard_task is not supported by the local airbricks workspace: it has no dashboards.",
    "power_bi_task": "power_bi_task is not supported by the local airbricks workspace: it has no Power BI link.",
    "gen_ai_compute_task": "gen_ai_compute_task is not supported by the local airbricks workspace: it has no GPU "
    "compute.",
}


class JobStarter(Protocol):
    """What a ``run_job_task`` needs of the Jobs model (:class:`airbricks.workspace.jobs.jobs.Jobs`)."""

    def run_now(
        self,
        job_id: Any,
        *,
        job_parameters: Any = None,
        notebook_params: Any = None,
        python_params: list[Any] | None = None,
        parent_task_run_id: int | None = None,
    ) -> dict[str, Any]: ...


class SqlStatement(Protocol):
    """A statement a ``sql_task`` submitted (:class:`airbricks.workspace.sql.statements.Statement`)."""

    @property
    def id(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def error(self) -> dict[str, Any] | None: ...


class SqlStatements(Protocol):
    """The Statement Execution engine a ``sql_task`` runs on (:class:`airbricks.workspace.sql.statements.Statements`;
    a protocol, so the Jobs service does not import the SQL models)."""

    def submit(self, params: Params) -> SqlStatement: ...
    def cancel(self, statement_id: str) -> None: ...


class SavedQueries(Protocol):
    """The saved queries a ``sql_task.query`` names (:class:`airbricks.workspace.sql.queries.Queries`)."""

    def get(self, query_id: Any) -> dict[str, Any]: ...


class WorkspaceFiles(Protocol):
    """Where a ``sql_task.file`` is read (:class:`airbricks.workspace.storage.workspace_objects.WorkspaceObjects`)."""

    def export(self, path: object, fmt: str | None) -> Any: ...


class Host(Protocol):
    """What drivers need of the Jobs service (:class:`airbricks.workspace.jobs.runs.Runs`)."""

    @property
    def jobs(self) -> JobStarter: ...
    @property
    def statements(self) -> SqlStatements: ...
    @property
    def queries(self) -> SavedQueries: ...
    @property
    def notebooks(self) -> WorkspaceFiles: ...

    def run_of(self, run_id: int) -> Run | None: ...
    def cancel(self, run_id: Any) -> None: ...
    def spawn_iteration(self, run: Run, parent: TaskRun, index: int, item: Any) -> TaskRun: ...
    def end_task(self, run: Run, task: TaskRun, outcome: Outcome) -> None: ...
    def references(self, run: Run, task: TaskRun) -> References: ...


def failed(message: str) -> dict[str, Any]:
    return {"status": "FAILED", "error": message, "message": message}


class ServerTask:
    """A task run inside the server: no OS process."""

    pid = 0
    pgid = 0

    def __init__(self, host: Host, run: Run, task: TaskRun) -> None:
        self.host, self.run, self.task = host, run, task
        self.body: dict[str, Any] = next(
            v for k, v in task.settings.items() if k.endswith("_task") and isinstance(v, dict)
        )

    def poll(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def kill(self) -> None:
        """Nothing to kill by default."""

    def reaped(self) -> bool:
        return True


class Done(ServerTask):
    """A task whose outcome is known when it starts (refused types, a failed start)."""

    def __init__(self, host: Host, run: Run, task: TaskRun, outcome: dict[str, Any]) -> None:
        super().__init__(host, run, task)
        self.outcome = outcome

    def poll(self) -> dict[str, Any]:
        return self.outcome


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None


def evaluate(op: str, left: str, right: str) -> bool:
    """A condition task's comparison: strings for (NOT_)EQUAL, numbers for the others (as documented)."""
    if op == "EQUAL_TO":
        return left == right
    if op == "NOT_EQUAL":
        return left != right
    a, b = _number(left), _number(right)
    return {"GREATER_THAN": a > b, "GREATER_THAN_OR_EQUAL": a >= b, "LESS_THAN": a < b, "LESS_THAN_OR_EQUAL": a <= b}[
        op
    ]


class Condition(Done):
    """``condition_task``: its operands (with references) compared; ``outcome`` gates ``depends_on``."""

    def __init__(self, host: Host, run: Run, task: TaskRun) -> None:
        refs = host.references(run, task)
        body = task.settings["condition_task"]
        left, right = refs.text(str(body["left"])), refs.text(str(body["right"]))
        try:
            outcome = "true" if evaluate(body["op"], left, right) else "false"
        except ValueError as err:
            super().__init__(
                host,
                run,
                task,
                failed(
                    f"The condition {left} {body['op']} {right} cannot be "
                    f"evaluated: {err}; {body['op']} compares numbers."
                ),
            )
            return
        task.extra["condition_outcome"] = outcome
        task.extra["view"] = {"condition_task": {"left": left, "right": right, "outcome": outcome}}
        super().__init__(host, run, task, {"status": "SUCCESS", "result": None})


class RunJob(ServerTask):
    """``run_job_task``: triggers the other job (with its parameters) and ends as that run ends."""

    def __init__(self, host: Host, run: Run, task: TaskRun) -> None:
        super().__init__(host, run, task)
        refs = host.references(run, task)
        body = refs.deep(self.body)
        self.error: str | None = None
        try:
            started = host.jobs.run_now(
                body["job_id"],
                job_parameters=body.get("job_parameters"),
                notebook_params=body.get("notebook_params"),
                python_params=body.get("python_params"),
                parent_task_run_id=task.run_id,
            )
        except (DatabricksError, TypeError, ValueError) as err:
            why = err.message if isinstance(err, DatabricksError) else str(err)
            self.error = f"The run_job_task could not start job {body['job_id']}: {why}"
            return
        task.extra["child_run_id"] = started["run_id"]
        task.extra["view"] = {"run_job_task": {"job_id": int(body["job_id"])}}

    def poll(self) -> dict[str, Any] | None:
        if self.error:
            return failed(self.error)
        child = self.host.run_of(self.task.extra["child_run_id"])
        if child is None:
            return failed(f"The triggered run {self.task.extra['child_run_id']} was deleted.")
        if child.state.is_active:
            return None
        if child.state.result_state in ("SUCCESS", "SUCCESS_WITH_FAILURES"):
            return {"status": "SUCCESS", "result": None}
        ending = child.state.result_state or child.state.life_cycle_state
        return failed(f"The triggered job run {child.run_id} ended {ending}: {child.state.state_message}")

    def kill(self) -> None:
        child_id = self.task.extra.get("child_run_id")
        child = self.host.run_of(child_id) if child_id else None
        if child is not None and child.state.is_active:
            self.host.cancel(child_id)
