"""What a test reads from one DAG run: its state, each task's state, XComs and log text.

``dag.test()`` runs the tasks one after the other in this process, and Airflow announces each with
``[DAG TEST] starting task_id=...`` / ``end task task_id=...`` log lines; :func:`capture_task_logs` keeps every
log record in between under that task id, so a failing test can show what the task logged (for a notebook
task: the provider's message with the notebook's error). The task runner logs through structlog (not the
standard library), so a processor is put first in structlog's chain for the duration of the run.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_STARTING = re.compile(r"\[DAG TEST\] starting task_id=(\S+) map_index=")
_ENDING = re.compile(r"\[DAG TEST\] end task task_id=(\S+) map_index=")


class TaskLogs(logging.Handler):
    """Log text per task id, from the records emitted while ``dag.test()`` runs that task."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.text: dict[str, list[str]] = defaultdict(list)
        self._current: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format is still worth its raw text
            message = str(record.msg)
        started = _STARTING.search(message)
        if started:
            self._current = started.group(1)
        if self._current is not None:
            self.text[self._current].append(self.format(record))
        if _ENDING.search(message):
            self._current = None

    def structlog_processor(self, logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        """Keep a structlog event (the task runner's own log: "Task failed with exception" and its traceback)."""
        if self._current is not None:
            line = f"{method.upper()} {event.get('logger_name') or event.get('logger') or 'task'}: {event.get('event')}"
            exc_info = event.get("exc_info")
            if exc_info:
                info = sys.exc_info() if exc_info is True else exc_info
                if isinstance(info, BaseException):
                    info = (type(info), info, info.__traceback__)
                if isinstance(info, tuple) and info[0] is not None:
                    line += "\n" + "".join(traceback.format_exception(*info)).rstrip()
            self.text[self._current].append(line)
        return event


@contextmanager
def capture_task_logs() -> Iterator[TaskLogs]:
    """Collect log records per task on the root logger (and keep the levels that let INFO through)."""
    import structlog

    handler = TaskLogs()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    # The configured list itself (bound loggers share it), so loggers made before the run see the processor too.
    processors = structlog.get_config()["processors"]
    processors.insert(0, handler.structlog_processor)
    try:
        yield handler
    finally:
        processors.remove(handler.structlog_processor)
        root.removeHandler(handler)
        root.setLevel(previous)


class DagRunFailed(AssertionError):
    """The DAG run did not succeed; the message lists each failed task with the end of its log."""


class DagRunResult:
    """One finished DAG run.

    ``state`` (``"success"``/``"failed"``), ``task_states`` (``{task_id: state}``), :meth:`xcom`,
    :meth:`log`; :meth:`assert_success` fails with the failed tasks' logs. ``dag_run`` is Airflow's DagRun.
    """

    def __init__(self, dag_run: Any, logs: TaskLogs) -> None:
        self.dag_run = dag_run
        self._logs = logs
        self.task_instances = {ti.task_id: ti for ti in dag_run.get_task_instances()}

    @property
    def state(self) -> str:
        return str(self.dag_run.state)

    @property
    def dag_id(self) -> str:
        return self.dag_run.dag_id

    @property
    def run_id(self) -> str:
        return self.dag_run.run_id

    @property
    def task_states(self) -> dict[str, str | None]:
        return {
            task_id: (str(ti.state) if ti.state is not None else None) for task_id, ti in self.task_instances.items()
        }

    @property
    def failed_tasks(self) -> list[str]:
        return [task_id for task_id, state in self.task_states.items() if state == "failed"]

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        """The XCom ``key`` a task pushed in this run, as a downstream task would pull it (None when none).

        Read from the metadata DB and decoded by the configured XCom backend's ``deserialize_value``, as the
        Task SDK decodes what the execution API hands it (not the scheduler-side model's, which would decode a
        JSON-looking string a second time)."""
        from airflow.models.xcom import XComModel
        from airflow.sdk.execution_time.xcom import XCom
        from airflow.utils.session import create_session

        with create_session() as session:
            row = (
                session.query(XComModel)
                .filter_by(dag_id=self.dag_id, run_id=self.run_id, task_id=task_id, key=key)
                .one_or_none()
            )
            return XCom.deserialize_value(row) if row is not None else None

    def log(self, task_id: str) -> str:
        """What the task logged while it ran (empty when it never ran)."""
        if task_id not in self.task_instances:
            raise KeyError(f"{self.dag_id} has no task {task_id!r}: it has {sorted(self.task_instances)}")
        return "\n".join(self._logs.text.get(task_id, []))

    def assert_success(self) -> DagRunResult:
        """Fail (``AssertionError``) unless the run succeeded, naming each failed task and its log's end."""
        if self.state == "success":
            return self
        parts = [f"DAG {self.dag_id} run {self.run_id} ended {self.state}; task states: {self.task_states}"]
        for task_id in self.failed_tasks:
            tail = "\n".join(self.log(task_id).splitlines()[-60:])
            parts.append(f"--- {task_id} ({self.task_states[task_id]}) log ---\n{tail or '(no log: it never ran)'}")
        raise DagRunFailed("\n".join(parts))

    def __getattr__(self, name: str) -> Any:
        """Everything else is the DagRun's own (``get_task_instances()``, ``conf``, ``logical_date``...)."""
        if name.startswith("__") or name in ("dag_run", "_logs"):
            raise AttributeError(name)
        return getattr(self.dag_run, name)

    def __repr__(self) -> str:
        return f"<DagRunResult {self.dag_id} {self.run_id} {self.state} {self.task_states}>"
