"""Dynamic value references: ``{{job.id}}``, ``{{job.parameters.<name>}}``, ``{{tasks.<key>.values.<name>}}``...

Resolved when a task starts, in its parameters (notebook ``base_parameters``, Python/wheel arguments,
condition operands, for-each inputs, SQL parameters, run-job parameters), as the Jobs docs define them.
A reference the local workspace does not know is left as written (the real service refuses most of them
when the job is saved).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from typing import Any

from airbricks.workspace.jobs.run import Run, TaskRun

REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9_.\-\[\]]+)\s*\}\}")


def value_text(value: Any) -> str:
    """A task value or for-each input as it appears in a string (JSON for anything but a string)."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _time_part(ms: int, part: str) -> str | None:
    moment = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    parts: dict[str, Callable[[], Any]] = {
        "iso_date": lambda: moment.date().isoformat(),
        "iso_datetime": lambda: moment.isoformat(),
        "year": lambda: moment.year,
        "month": lambda: moment.month,
        "day": lambda: moment.day,
        "hour": lambda: moment.hour,
        "minute": lambda: moment.minute,
        "second": lambda: moment.second,
        "timestamp_ms": lambda: ms,
        "is_weekday": lambda: str(moment.weekday() < 5).lower(),
        "day_of_week": lambda: moment.isoweekday(),
    }
    return str(parts[part]()) if part in parts else None


class References:
    """What the references of one task run resolve to.

    :param run: the job run; :param task: the task run being started;
    :param workspace: ``workspace.id`` / ``workspace.url``; :param item: the for-each ``{{input}}``.
    """

    def __init__(
        self,
        run: Run,
        task: TaskRun,
        *,
        workspace_id: int | str,
        workspace_url: str,
        item: Any = None,
        has_item: bool = False,
    ) -> None:
        self.run = run
        self.task = task
        self.workspace = {"id": str(workspace_id), "url": workspace_url}
        self.item = item
        self.has_item = has_item

    @classmethod
    def of_task(cls, run: Run, task: TaskRun, *, workspace_id: int | str, workspace_url: str) -> References:
        """The references of a task run as it starts (a for-each iteration's ``{{input}}`` is its item)."""
        return cls(
            run,
            task,
            workspace_id=workspace_id,
            workspace_url=workspace_url,
            item=task.extra.get("input"),
            has_item="input" in task.extra,
        )

    def lookup(self, name: str) -> str | None:
        run, task = self.run, self.task
        parts = name.split(".")
        params = {p["name"]: p["value"] for p in run.job_parameters or []}
        simple = {
            "job.id": run.job_id,
            "job_id": run.job_id,
            "job.name": run.run_name,
            "job.run_id": run.run_id,
            "run_id": task.run_id,
            "parent_run_id": run.run_id,
            "job.repair_count": len(run.history[1:]),
            "job.trigger.type": run.trigger,
            "task.name": task.key,
            "task_key": task.key,
            "task.run_id": task.run_id,
            "task.execution_count": task.attempt_number + 1,
            "workspace.id": self.workspace["id"],
            "workspace.url": self.workspace["url"],
        }
        if name in simple:
            return str(simple[name])
        if name == "input" and self.has_item:
            return value_text(self.item)
        if parts[0] == "input" and self.has_item and isinstance(self.item, dict) and len(parts) == 2:
            return value_text(self.item.get(parts[1])) if parts[1] in self.item else None
        if name.startswith("job.parameters."):
            key = name[len("job.parameters.") :]
            return params.get(key)
        if name.startswith("job.start_time.") or name.startswith("job.trigger.time."):
            return _time_part(run.timing.start_time, parts[-1])
        if parts[0] == "tasks" and len(parts) >= 3:
            return self._task_reference(parts[1], parts[2:])
        return None

    def _task_reference(self, key: str, rest: list[str]) -> str | None:
        try:
            other = self.run.task(key)
        except StopIteration:
            return None
        if rest[0] == "values" and len(rest) == 2:
            values = (other.output or {}).get("task_values") or {}
            return value_text(values[rest[1]]) if rest[1] in values else None
        if rest == ["run_id"]:
            return str(other.run_id)
        if rest == ["result_state"]:
            return (other.result_state or "").lower()
        if rest == ["error_code"]:
            return other.state.termination_code or ""
        return None

    def text(self, value: str) -> str:
        """``value`` with every known reference replaced."""

        def replace(match: re.Match[str]) -> str:
            found = self.lookup(match.group(1))
            return match.group(0) if found is None else found

        return REFERENCE.sub(replace, value)

    def deep(self, value: Any) -> Any:
        """References resolved in every string of a JSON-like value."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.deep(v) for v in value]
        if isinstance(value, dict):
            return {k: self.deep(v) for k, v in value.items()}
        return value
