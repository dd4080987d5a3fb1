"""``sql_task``: a saved query (``/api/2.0/sql/queries``) or a workspace SQL file, run on its warehouse.

The statements go through the Statement Execution engine (:mod:`airbricks.workspace.sql.statements`), one
after the other; the task ends FAILED with the first statement's error. ``alert`` and ``dashboard`` need
services the local workspace does not have: they end FAILED with a message saying so.
"""

from __future__ import annotations

import re
from typing import Any

from airbricks.workspace.errors import DatabricksError
from airbricks.workspace.jobs.run import Run, TaskRun
from airbricks.workspace.jobs.tasks.drivers import Host, ServerTask, SqlStatement, failed
from airbricks.workspace.kernel.cells import sql_statements
from airbricks.workspace.params import Params

UNSUPPORTED = {
    "alert": "sql_task.alert is not supported by the local airbricks workspace: it has no SQL alerts. Run the "
    "alert's query as sql_task.query and check its result in a later task.",
    "dashboard": "sql_task.dashboard is not supported by the local airbricks workspace: it has no SQL dashboards.",
}


def _text(host: Host, body: dict[str, Any]) -> str:
    if body.get("query"):
        return host.queries.get(body["query"]["query_id"])["query_text"]
    source = (body["file"].get("source") or "WORKSPACE").upper()
    if source != "WORKSPACE":
        raise ValueError(
            f"sql_task.file with source {source} needs the job's git_source, which this task cannot"
            " read: use a workspace file (source WORKSPACE)."
        )
    content, _ = host.notebooks.export(body["file"]["path"], "SOURCE")
    return content.decode("utf-8", "replace")


class Sql(ServerTask):
    def __init__(self, host: Host, run: Run, task: TaskRun) -> None:
        super().__init__(host, run, task)
        refs = host.references(run, task)
        self.error: str | None = next((m for k, m in UNSUPPORTED.items() if self.body.get(k)), None)
        self.pending: list[str] = []
        self.current: SqlStatement | None = None
        # Job parameters are pushed down to the task, as on Databricks (used where the text names :them).
        given = {**(self.body.get("parameters") or {}), **task.widgets}
        self.parameters = {str(k): str(v) for k, v in refs.deep(given).items()}
        if self.error:
            return
        try:
            text = _text(host, self.body)
            self.pending = sql_statements(text)
        except (DatabricksError, ValueError) as err:
            self.error = f"sql_task {task.key}: {getattr(err, 'message', None) or err}"
            return
        #: ``runs/get-output``'s ``sql_output``: the text run and each statement's id (a lookup key).
        task.extra["sql_output"] = {
            "query_output": {"query_text": text, "warehouse_id": self.body["warehouse_id"], "sql_statements": []}
        }

    def _submit(self, text: str) -> SqlStatement:
        used = [{"name": k, "value": v} for k, v in self.parameters.items() if re.search(rf":{k}\b", text)]
        return self.host.statements.submit(
            Params(
                {
                    "statement": text,
                    "warehouse_id": self.body["warehouse_id"],
                    "wait_timeout": "0s",
                    "parameters": used or None,
                }
            )
        )

    def poll(self) -> dict[str, Any] | None:
        if self.error:
            return failed(self.error)
        if self.current is not None:
            state = self.current.state
            if state in ("PENDING", "RUNNING"):
                return None
            if state != "SUCCEEDED":
                message = (self.current.error or {}).get("message") or f"the statement ended {state}"
                return failed(f"sql_task {self.task.key}: {message}")
        if not self.pending:
            return {"status": "SUCCESS", "result": None}
        try:
            self.current = self._submit(self.pending.pop(0))
        except DatabricksError as err:
            return failed(f"sql_task {self.task.key}: {err.message}")
        self.task.extra["sql_output"]["query_output"]["sql_statements"].append({"lookup_key": self.current.id})
        return None

    def kill(self) -> None:
        if self.current is not None and self.current.state in ("PENDING", "RUNNING"):
            try:
                self.host.statements.cancel(self.current.id)
            except DatabricksError:
                pass
