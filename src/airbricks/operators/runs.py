"""Bring a finished run's notebook result (``dbutils.notebook.exit``) back into Airflow (the seed's "get result")."""

from __future__ import annotations

import json as jsonlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, BaseOperator

from airbricks.links import XCOM_RUN_PAGE_URL_KEY, DatabricksRunLink, expect_links, push_link
from airbricks.operators.base import DatabricksHookMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


#: The XCom key under which the provider's DatabricksSubmitRunOperator / DatabricksRunNowOperator push the run id.
PROVIDER_RUN_ID_KEY = "run_id"


class DatabricksRunOutputOperator(DatabricksHookMixin, BaseOperator):
    """Return the result of a finished Databricks run.

    Reads the run (``jobs/runs/get``), then ``jobs/runs/get-output`` of each of its task runs (the API
    refuses the output of a multi-task parent).  Returns the ``dbutils.notebook.exit`` string for a
    single-task run and ``{task_key: result}`` for a multi-task run.  A run that failed or is not finished
    fails the task with the run's ``state_message`` and each failed task's ``error``.  An output that
    Databricks truncated (``truncated: true``) is returned as is and logged as truncated.

    With ``log_output`` (the default) the task log also gets what each task run printed: a notebook's cells'
    text output, displayed tables and error with its trace (from ``jobs/runs/export``), or the ``logs`` of a
    Python/jar task and the ``error_trace`` of a failed one (from ``runs/get-output``).  Put it after the
    official ``DatabricksSubmitRunOperator`` / ``DatabricksRunNowOperator`` (``trigger_rule="all_done"`` to
    see a failed run's output too): they log only the run's page URL.

    :param run_id: the Databricks run id. Templated. Either this or ``run_task_id``.
    :param run_task_id: task id of a ``DatabricksSubmitRunOperator`` / ``DatabricksRunNowOperator`` whose
        XCom ``run_id`` names the run (the run operator's ``do_xcom_push`` must be on, the default).
    :param decode_json: decode each result as JSON (a result that is not JSON fails the task).
    :param log_output: write each task run's printed output and error trace into the task log.
    :param databricks_conn_id: the Databricks connection.
    :param databricks_retry_limit: attempts for retryable API failures.
    :param databricks_retry_delay: seconds before the first API retry (then exponential).
    :param databricks_retry_args: ``tenacity`` arguments for API retries; default (with no limit or delay given)
        :data:`airbricks.retry.DATABRICKS_RETRY_ARGS`, which rides out 429/503/dropped connections for minutes.
    :param kwargs: the other ``BaseOperator`` arguments.
    """

    template_fields: Sequence[str] = ("run_id", "run_task_id")
    operator_extra_links = (DatabricksRunLink(),)
    ui_color = "#e3e0f7"

    def __init__(
        self,
        *,
        run_id: int | str | None = None,
        run_task_id: str | None = None,
        decode_json: bool = False,
        log_output: bool = True,
        databricks_conn_id: str = "databricks_default",
        databricks_retry_limit: int | None = None,
        databricks_retry_delay: float | None = None,
        databricks_retry_args: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (run_id is None) == (run_task_id is None):
            raise ValueError(
                "pass exactly one of run_id (the Databricks run id) or run_task_id (the task that started the run)"
            )
        self.run_id = run_id
        self.run_task_id = run_task_id
        self.decode_json = decode_json
        self.log_output = log_output
        self._outputs: dict[int, dict[str, Any]] = {}
        self._set_connection(databricks_conn_id, databricks_retry_limit, databricks_retry_delay, databricks_retry_args)

    def _resolve_run_id(self, context: Context) -> int:
        value: Any = self.run_id
        if value is None:
            value = context["ti"].xcom_pull(task_ids=self.run_task_id, key=PROVIDER_RUN_ID_KEY)
            if value is None:
                raise AirflowException(
                    f"task {self.run_task_id!r} pushed no XCom {PROVIDER_RUN_ID_KEY!r}: is it a "
                    "DatabricksSubmitRunOperator/DatabricksRunNowOperator with do_xcom_push?"
                )
        try:
            return int(value)
        except (TypeError, ValueError):
            raise AirflowException(f"run id must be an integer, got {value!r}") from None

    def execute(self, context: Context) -> Any:
        expect_links(self)
        run_id = self._resolve_run_id(context)
        run = self.hook.get_run(run_id)
        if run.get("run_page_url"):
            push_link(self, context["ti"], XCOM_RUN_PAGE_URL_KEY, run["run_page_url"])
        state = run.get("state") or run.get("status") or {}
        life = state.get("life_cycle_state", "")
        tasks = run.get("tasks") or []

        if life not in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR") and not _is_terminated_status(run):
            raise AirflowException(
                f"run {run_id} is not finished ({life or 'unknown state'}): its output is "
                "not available yet; run this task after the run's task"
            )
        keys = [(t.get("task_key") or str(t["run_id"]), int(t["run_id"])) for t in tasks] or [("", run_id)]
        if self.log_output:
            notebooks = {int(t["run_id"]) for t in tasks if t.get("notebook_task")} or (
                {run_id} if not tasks and (run.get("task") or {}).get("notebook_task") else set()
            )
            for key, task_run_id in keys:
                self._log_output_of(key or "run", task_run_id, task_run_id in notebooks)
        if state.get("result_state") != "SUCCESS":
            errors = []
            for key, task_run_id in keys:
                try:
                    error = self._output_of(task_run_id).get("error")
                except AirflowException as exc:
                    error = str(exc)
                if error:
                    errors.append(f"{key or 'run'}: {error}")
            raise AirflowException(
                f"run {run_id} {state.get('result_state') or life}: "
                f"{state.get('state_message', '')}" + (f" | {'; '.join(errors)}" if errors else "")
            )

        results = {key: self._result(key, self._output_of(task_run_id)) for key, task_run_id in keys}
        if len(results) == 1:
            return next(iter(results.values()))
        return results

    def _output_of(self, task_run_id: int) -> dict[str, Any]:
        from airbricks.errors import DatabricksRequestError

        if task_run_id not in self._outputs:
            try:
                self._outputs[task_run_id] = self.hook.call("GET", "2.2/jobs/runs/get-output", {"run_id": task_run_id})
            except DatabricksRequestError as exc:
                raise AirflowException(f"could not read the output of task run {task_run_id}: {exc}") from None
        return self._outputs[task_run_id]

    def _log_output_of(self, key: str, task_run_id: int, notebook: bool) -> None:
        """What the task run printed and raised, into the task log (never fails the task: it is a courtesy)."""
        from airbricks.errors import DatabricksRequestError
        from airbricks.utils.notebook_output import export_lines

        lines: list[str] = []
        try:
            if notebook:
                lines = export_lines(
                    self.hook.call("GET", "2.0/jobs/runs/export", {"run_id": task_run_id, "views_to_export": "CODE"})
                )
            output = self._output_of(task_run_id)
        except (DatabricksRequestError, AirflowException) as exc:
            self.log.warning("Could not read the output of %s (task run %s) for the log: %s", key, task_run_id, exc)
            return
        if not notebook and output.get("logs"):
            lines += str(output["logs"]).rstrip("\n").splitlines()
        if output.get("error_trace") and not any(line.startswith("ERROR ") for line in lines):
            lines += [f"ERROR {output.get('error', '')}".rstrip(), *str(output["error_trace"]).splitlines()]
        if lines:
            self.log.info("Output of %s (task run %s):\n%s", key, task_run_id, "\n".join(f"  {line}" for line in lines))
        else:
            self.log.info("%s (task run %s) printed nothing", key, task_run_id)

    def _result(self, key: str, output: dict[str, Any]) -> Any:
        notebook = output.get("notebook_output") or {}
        result = notebook.get("result")
        if notebook.get("truncated"):
            self.log.warning(
                "The output of %s was truncated by Databricks (first %s bytes kept)",
                key or "the run",
                len(result or ""),
            )
        if result is None:
            # Not a notebook task (or exited without a value): fall back to logs for spark_python/etc.
            result = output.get("logs")
        if self.decode_json and result is not None:
            try:
                return jsonlib.loads(result)
            except ValueError as exc:
                raise AirflowException(f"output of {key or 'the run'} is not JSON ({exc}): {result[:200]!r}") from None
        return result


def _is_terminated_status(run: dict[str, Any]) -> bool:
    return (run.get("status") or {}).get("state") == "TERMINATED"
