"""``for_each_task``: its nested task once per input, ``concurrency`` at a time, each seeing ``{{input}}``.

Iterations are task runs of the same run (``iteration_of`` the for-each task run): the state machine
moves, retries and kills them like any task; this driver only releases them and sums them up. They are
not in the run's ``tasks``: ``runs/get`` of the for-each task run lists them as ``iterations``.
"""

from __future__ import annotations

import json
from typing import Any

from airbricks.workspace.jobs.rules import CANCELED
from airbricks.workspace.jobs.run import Phase, Run, TaskRun
from airbricks.workspace.jobs.tasks.drivers import Host, ServerTask, failed

OK = ("SUCCESS", "SUCCESS_WITH_FAILURES")


class ForEach(ServerTask):
    def __init__(self, host: Host, run: Run, task: TaskRun) -> None:
        super().__init__(host, run, task)
        text = host.references(run, task).text(self.body["inputs"])
        self.items: list[Any] = []
        self.error: str | None = None
        try:
            items = json.loads(text)
        except ValueError:
            items = None
        if not isinstance(items, list):
            self.error = (
                f"The inputs of for_each_task {task.key} must be a JSON array (got {text[:200]!r}); "
                "pass a literal such as [1, 2] or a reference to a task value holding a list."
            )
        else:
            self.items = items
        self.concurrency = int(self.body.get("concurrency") or 1)

    def _latest(self) -> dict[int, TaskRun]:
        """The latest attempt of each iteration, by index."""
        latest: dict[int, TaskRun] = {}
        for it in self.run.iterations(self.task):
            latest[it.extra["index"]] = it
        return latest

    def poll(self) -> dict[str, Any] | None:
        if self.error:
            return failed(self.error)
        latest = self._latest()
        active = [t for t in latest.values() if t.phase is not Phase.DONE]
        index = len(latest)
        while len(active) < self.concurrency and index < len(self.items):
            active.append(self.host.spawn_iteration(self.run, self.task, index, self.items[index]))
            index += 1
        latest = self._latest()
        done = [t for t in latest.values() if t.phase is Phase.DONE]
        good = [t for t in done if t.result_state in OK]
        self.task.extra["view"] = {
            "for_each_task": {
                "stats": {
                    "task_run_stats": {
                        "total_iterations": len(self.items),
                        "scheduled_iterations": len(latest),
                        "active_iterations": len(latest) - len(done),
                        "completed_iterations": len(done),
                        "succeeded_iterations": len(good),
                        "failed_iterations": len(done) - len(good),
                    }
                }
            }
        }
        if len(done) < len(self.items):
            return None
        if len(good) == len(done):
            return {"status": "SUCCESS", "result": None}
        return failed(f"{len(done) - len(good)} of {len(done)} iterations of for_each_task {self.task.key} failed.")

    def kill(self) -> None:
        for it in self._latest().values():
            if it.phase is not Phase.DONE:
                self.host.end_task(self.run, it, CANCELED)
