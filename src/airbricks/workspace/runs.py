"""Job runs: the per-task state machine driven by the ticker, cluster acquisition, processes, outputs.

A run document (kind ``run``) holds the parent run and its task runs (``tasks[]``, each with its own
``run_id``); keys starting with ``_`` are internal and never leave the server. Task phases: ``WAIT``
(upstream tasks), ``CLUSTER`` (waiting for a RUNNING cluster), ``RUN`` (process alive), ``DONE``.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from airbricks.workspace import paths, runner
from airbricks.workspace.errors import DatabricksError, InvalidParameterValue, InvalidState, does_not_exist

log = logging.getLogger("airbricks.workspace.runs")

KIND = "run"
ACTIVE = ("PENDING", "QUEUED", "BLOCKED", "RUNNING", "TERMINATING")
LOST = "The local workspace restarted while this run was in flight; the run was lost."
TASK_FAILED = "Workload failed, see run output for details"
RUN_IF = ("ALL_SUCCESS", "ALL_DONE", "NONE_FAILED", "AT_LEAST_ONE_SUCCESS", "ALL_FAILED", "AT_LEAST_ONE_FAILED")
FAILED_LIKE = ("FAILED", "TIMEDOUT", "UPSTREAM_FAILED")
CANCELED_LIKE = ("CANCELED", "UPSTREAM_CANCELED")
TASK_TYPES = ("notebook_task", "spark_python_task")
UNSUPPORTED_TYPES = ("spark_jar_task", "spark_submit_task", "pipeline_task", "python_wheel_task", "sql_task",
                     "dbt_task", "run_job_task", "condition_task", "for_each_task", "clean_rooms_notebook_task")
#: (termination code, type) per result state, for the newer ``status.termination_details``.
TERMINATION = {
    "SUCCESS": ("SUCCESS", "SUCCESS"), "SUCCESS_WITH_FAILURES": ("SUCCESS_WITH_FAILURES", "SUCCESS"),
    "FAILED": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"), "TIMEDOUT": ("RUN_EXECUTION_ERROR", "CLIENT_ERROR"),
    "CANCELED": ("USER_CANCELED", "SUCCESS"), "UPSTREAM_FAILED": ("SKIPPED", "SUCCESS"),
    "UPSTREAM_CANCELED": ("SKIPPED", "SUCCESS"), "EXCLUDED": ("SKIPPED", "SUCCESS"),
}


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """A document without its internal (``_``-prefixed) keys, recursively through ``tasks``."""
    out = {k: v for k, v in doc.items() if not k.startswith("_")}
    if "tasks" in out:
        out["tasks"] = [public(t) for t in out["tasks"]]
    return out


def validate_tasks(tasks: list[Any], job_cluster_keys: set[str]) -> list[dict[str, Any]]:
    """Check a task list (keys, types, clusters, dependencies without cycles); 400 naming the field."""
    if not tasks:
        raise InvalidParameterValue("At least one task is required: pass 'tasks' (or a legacy notebook_task / "
                                    "spark_python_task at the top level).")
    keys: list[str] = []
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise InvalidParameterValue(f"Invalid value for field 'tasks[{i}]': expected an object")
        key = task.get("task_key")
        if not isinstance(key, str) or not key:
            raise InvalidParameterValue(f"Missing required field: tasks[{i}].task_key")
        if key in keys:
            raise InvalidParameterValue(f"Task key {key} is duplicated: task_key must be unique within a job.")
        keys.append(key)
        kinds = [t for t in TASK_TYPES if task.get(t) is not None]
        other = [t for t in UNSUPPORTED_TYPES if task.get(t) is not None]
        if other:
            raise InvalidParameterValue(f"Task {key}: {other[0]} is not supported by the local workspace; use "
                                        "notebook_task or spark_python_task.")
        if len(kinds) != 1:
            raise InvalidParameterValue(f"Task {key} must have exactly one of notebook_task, spark_python_task.")
        body = task[kinds[0]]
        field = "notebook_path" if kinds[0] == "notebook_task" else "python_file"
        if not isinstance(body, dict) or not isinstance(body.get(field), str) or not body.get(field):
            raise InvalidParameterValue(f"Missing required field: tasks[{i}].{kinds[0]}.{field}")
        clusters = [c for c in ("existing_cluster_id", "new_cluster", "job_cluster_key") if task.get(c)]
        if len(clusters) > 1:
            raise InvalidParameterValue(f"Task {key} can set only one of existing_cluster_id, new_cluster, "
                                        "job_cluster_key.")
        jck = task.get("job_cluster_key")
        if jck and jck not in job_cluster_keys:
            raise InvalidParameterValue(f"Task {key} refers to job_cluster_key {jck}, which is not defined in "
                                        "job_clusters.")
        run_if = task.get("run_if", "ALL_SUCCESS")
        if run_if not in RUN_IF:
            raise InvalidParameterValue(f"Invalid run_if '{run_if}' for task {key}: use one of {', '.join(RUN_IF)}.")
    for task in tasks:
        for dep in task.get("depends_on") or []:
            if not isinstance(dep, dict) or dep.get("task_key") not in keys:
                raise InvalidParameterValue(f"Task {task['task_key']} depends on {dep!r}, which is not a task_key "
                                            "of this job.")
    order: list[str] = []
    deps = {t["task_key"]: {d["task_key"] for d in t.get("depends_on") or []} for t in tasks}
    while len(order) < len(keys):
        ready = [k for k in keys if k not in order and deps[k] <= set(order)]
        if not ready:
            raise InvalidParameterValue("The task dependencies contain a cycle: "
                                        f"{', '.join(k for k in keys if k not in order)}.")
        order.extend(ready)
    return tasks


def job_cluster_keys(job_clusters: Any) -> set[str]:
    if job_clusters is None:
        return set()
    if not isinstance(job_clusters, list) or not all(isinstance(c, dict) and c.get("job_cluster_key")
                                                     for c in job_clusters):
        raise InvalidParameterValue("Invalid value for field 'job_clusters': each entry needs a job_cluster_key "
                                    "and a new_cluster.")
    return {c["job_cluster_key"] for c in job_clusters}


class Runs:
    """All runs of the workspace; owned by :class:`airbricks.workspace.jobs.Jobs`."""

    def __init__(self, workspace: Any) -> None:
        self.ws = workspace
        self.runs: dict[int, dict[str, Any]] = {}
        self.task_parent: dict[int, int] = {}
        self.tokens: dict[str, int] = {}
        self.active: set[int] = set()
        self.procs: dict[int, runner.TaskProcess] = {}
        self.dying: list[runner.TaskProcess] = []
        for ident, doc in workspace.store.load(KIND):
            self._index(doc)

    # -- bookkeeping ---------------------------------------------------------------------------------------

    def _index(self, run: dict[str, Any]) -> None:
        rid = run["run_id"]
        self.runs[rid] = run
        for task in run["tasks"]:
            self.task_parent[task["run_id"]] = rid
        if run.get("_idempotency_token"):
            self.tokens[run["_idempotency_token"]] = rid
        if run["state"]["life_cycle_state"] in ACTIVE:
            self.active.add(rid)

    def save(self, run: dict[str, Any]) -> None:
        self.ws.store.put(KIND, run["run_id"], run)

    def find(self, run_id: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """(parent run, task run or None) for a parent or task run id; 400 when unknown."""
        from airbricks.workspace.params import to_int

        rid = to_int(run_id, "run_id")
        if rid in self.runs:
            return self.runs[rid], None
        parent = self.task_parent.get(rid)
        if parent is None:
            raise does_not_exist("Run", rid)
        run = self.runs[parent]
        return run, next(t for t in run["tasks"] if t["run_id"] == rid)

    # -- creation ------------------------------------------------------------------------------------------

    def create(self, *, job_id: int, run_name: str, run_type: str, tasks: list[dict[str, Any]],
               job_clusters: list[dict[str, Any]] | None, timeout_seconds: int | None, token: str | None,
               widgets: dict[str, str], python_params: list[str] | None, creator: str,
               extra: dict[str, Any] | None = None, now: int) -> dict[str, Any]:
        if token and token in self.tokens:
            return self.runs[self.tokens[token]]
        rid = self.ws.store.next_id("run_id", start=1001)
        run: dict[str, Any] = {
            "job_id": job_id, "run_id": rid, "number_in_job": rid, "original_attempt_run_id": rid,
            "run_name": run_name, "run_type": run_type, "creator_user_name": creator,
            "state": {"life_cycle_state": "PENDING", "state_message": "", "user_cancelled_or_timedout": False},
            "status": {"state": "PENDING"},
            "start_time": now, "end_time": 0, "setup_duration": 0, "execution_duration": 0,
            "cleanup_duration": 0, "run_duration": 0, "attempt_number": 0, "format": "MULTI_TASK",
            "run_page_url": f"{self.ws.url}/?o={self.ws.workspace_id}#job/{job_id}/run/{rid}",
            "tasks": [], "_timeout": int(timeout_seconds or 0), "_job_cluster_ids": {},
            "_idempotency_token": token,
        }
        if job_clusters:
            run["job_clusters"] = job_clusters
        run.update(extra or {})
        for spec in tasks:
            trid = self.ws.store.next_id("run_id", start=1001)
            task = {k: v for k, v in spec.items() if k not in ("max_retries", "min_retry_interval_millis",
                                                                 "retry_on_timeout", "libraries")}
            task.update({
                "run_id": trid, "attempt_number": 0, "start_time": 0, "end_time": 0, "setup_duration": 0,
                "execution_duration": 0, "cleanup_duration": 0, "run_if": spec.get("run_if", "ALL_SUCCESS"),
                "state": {"life_cycle_state": "PENDING", "state_message": "", "user_cancelled_or_timedout": False},
                "status": {"state": "PENDING"},
                "run_page_url": f"{self.ws.url}/?o={self.ws.workspace_id}#job/{job_id}/run/{trid}",
                "_phase": "WAIT", "_widgets": {**{str(k): str(v) for k, v in
                                                  ((spec.get("notebook_task") or {}).get("base_parameters")
                                                   or {}).items()}, **widgets},
                "_argv": python_params if python_params is not None else
                (spec.get("spark_python_task") or {}).get("parameters") or [],
            })
            run["tasks"].append(task)
        self._index(run)
        self.save(run)
        return run

    # -- the ticker ----------------------------------------------------------------------------------------

    def tick(self, now: int) -> None:
        self.dying = [p for p in self.dying if not p.reaped()]
        for rid in list(self.active):
            run = self.runs.get(rid)
            if run is None:
                self.active.discard(rid)
                continue
            try:
                if self._advance(run, now):
                    self.save(run)
            except Exception:  # one broken run must not stop the others
                log.exception("run %s failed to advance", rid)
                self._fail_all(run, now, "INTERNAL_ERROR", "FAILED", "Internal error in the local workspace "
                               "while running this run; see the server log.", ("INTERNAL_ERROR", "INTERNAL_ERROR"))
                self.save(run)

    def _advance(self, run: dict[str, Any], now: int) -> bool:
        changed = False
        if run["_timeout"] and now - run["start_time"] > run["_timeout"] * 1000:
            self._fail_all(run, now, "TERMINATED", "TIMEDOUT", "Run timed out", TERMINATION["TIMEDOUT"],
                           cancelled=True)
            return True
        by_key = {t["task_key"]: t for t in run["tasks"]}
        for task in run["tasks"]:
            phase = task["_phase"]
            if phase == "WAIT":
                changed |= self._maybe_start(run, task, by_key, now)
            elif phase == "CLUSTER":
                changed |= self._wait_cluster(run, task, now)
            elif phase == "RUN":
                changed |= self._watch(run, task, now)
        if run["state"]["life_cycle_state"] == "PENDING" and any(t["_phase"] in ("RUN", "DONE")
                                                                 for t in run["tasks"]):
            self._set_state(run, "RUNNING", None, "")
            changed = True
        if all(t["_phase"] == "DONE" for t in run["tasks"]):
            self._finish_run(run, now)
            changed = True
        return changed

    def _maybe_start(self, run: dict[str, Any], task: dict[str, Any], by_key: dict[str, dict[str, Any]],
                     now: int) -> bool:
        deps = [by_key[d["task_key"]] for d in task.get("depends_on") or []]
        if any(d["_phase"] != "DONE" for d in deps):
            return False
        skip = self._run_if_blocks(task.get("run_if", "ALL_SUCCESS"), [d["state"].get("result_state") for d in deps])
        if skip:
            message = "Upstream task(s) failed." if skip.startswith("UPSTREAM") else \
                f"The run_if condition {task.get('run_if')} of this task was not met."
            self._finish_task(run, task, now, "TERMINATED", skip, message, TERMINATION[skip])
            return True
        task["start_time"] = now
        try:
            cluster_id = self._acquire_cluster(run, task)
        except DatabricksError as err:
            self._finish_task(run, task, now, "INTERNAL_ERROR", "FAILED", err.message,
                              ("RESOURCE_NOT_FOUND" if "does not exist" in err.message else "INVALID_CLUSTER_REQUEST",
                               "CLIENT_ERROR"))
            return True
        task["_cluster_id"] = cluster_id
        if cluster_id:
            task["cluster_instance"] = {"cluster_id": cluster_id}
        task["_phase"] = "CLUSTER"
        self._set_state(task, "PENDING", None, "Waiting for cluster" if cluster_id else "")
        return self._wait_cluster(run, task, now) or True

    @staticmethod
    def _run_if_blocks(run_if: str, results: list[str | None]) -> str | None:
        """None when the task may run, else the result state it ends with."""
        if not results or run_if == "ALL_DONE":
            return None
        failed = [r for r in results if r in FAILED_LIKE]
        canceled = [r for r in results if r in CANCELED_LIKE]
        succeeded = [r for r in results if r in ("SUCCESS", "SUCCESS_WITH_FAILURES")]
        if run_if == "ALL_SUCCESS":
            ok = all(r in ("SUCCESS", "SUCCESS_WITH_FAILURES", "EXCLUDED") for r in results)
            return None if ok else ("UPSTREAM_CANCELED" if canceled and not failed else "UPSTREAM_FAILED")
        if run_if == "NONE_FAILED":
            return None if not failed else "UPSTREAM_FAILED"
        ok = {"AT_LEAST_ONE_SUCCESS": bool(succeeded), "ALL_FAILED": len(failed) == len(results),
              "AT_LEAST_ONE_FAILED": bool(failed)}[run_if]
        return None if ok else "EXCLUDED"

    def _acquire_cluster(self, run: dict[str, Any], task: dict[str, Any]) -> str | None:
        clusters = self.ws.clusters
        if task.get("existing_cluster_id"):
            cid = str(task["existing_cluster_id"])
            clusters.get_doc(cid)
            clusters.ensure_started(cid)
            return cid
        if task.get("new_cluster"):
            return clusters.create_job_cluster(task["new_cluster"], run_id=run["run_id"], task_key=task["task_key"])
        key = task.get("job_cluster_key")
        if key:
            ids = run["_job_cluster_ids"]
            if key not in ids:
                spec = next(c for c in run.get("job_clusters") or [] if c["job_cluster_key"] == key)
                if not isinstance(spec.get("new_cluster"), dict):
                    raise InvalidParameterValue(f"job_clusters entry {key} has no new_cluster specification.")
                ids[key] = clusters.create_job_cluster(spec["new_cluster"], run_id=run["run_id"], task_key=key)
            return ids[key]
        return None  # serverless-like: runs directly in a local process

    def _cluster_gone(self, cid: str, starting: bool = False) -> str | None:
        """Why a cluster can no longer run the task, or None while it can (or still may: a cluster that
        ``ensure_started`` found TERMINATING restarts after its termination)."""
        try:
            doc = self.ws.clusters.get_doc(cid)
        except DatabricksError as err:
            return err.message
        state = self.ws.clusters.state(cid)
        if state in (("TERMINATED", "ERROR") if starting else ("TERMINATING", "TERMINATED", "ERROR")):
            reason = doc.get("termination_reason") or {}
            why = f" Reason: {reason.get('code')} ({reason.get('type', 'SUCCESS')})." if reason.get("code") else ""
            return f"Cluster {cid} was terminated.{why} {doc.get('state_message') or ''}".strip()
        return None

    def _wait_cluster(self, run: dict[str, Any], task: dict[str, Any], now: int) -> bool:
        cid = task.get("_cluster_id")
        if cid:
            gone = self._cluster_gone(cid, starting=True)
            if gone:
                self._finish_task(run, task, now, "INTERNAL_ERROR", "FAILED", gone, ("CLUSTER_ERROR", "CLIENT_ERROR"))
                return True
            if self.ws.clusters.state(cid) not in ("RUNNING", "RESIZING"):
                return False
            self.ws.clusters.mark_active(cid)
        try:
            spec = self._spec(run, task)
        except DatabricksError as err:
            self._finish_task(run, task, now, "INTERNAL_ERROR", "FAILED", err.message,
                              ("RESOURCE_NOT_FOUND", "CLIENT_ERROR"))
            return True
        proc = runner.TaskProcess(runner.run_dir(self.ws.data_dir, task["run_id"]), spec,
                                  self.ws.config.python_executable)
        self.procs[task["run_id"]] = proc
        task.update({"_phase": "RUN", "_pid": proc.pid, "_pgid": proc.pgid, "_run_start": now,
                     "setup_duration": now - task["start_time"]})
        self._set_state(task, "RUNNING", None, "In run")
        return True

    def _spec(self, run: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
        """What the kernel needs to run this task; raises when the notebook or file is missing."""
        base = {"widgets": task["_widgets"], "dbfs_root": str(self.ws.data_dir / "dbfs"),
                "volumes_root": str(self.ws.data_dir / "volumes"),
                "workspace_root": str(self.ws.data_dir / "workspace")}
        if task.get("notebook_task"):
            path = task["notebook_task"]["notebook_path"]
            language, source = self.ws.objects.notebook_source(path)
            if language != "PYTHON":
                raise InvalidParameterValue(f"Notebook {path} is a {language} notebook; the local workspace runs "
                                            "Python notebooks only.")
            return {**base, "kind": "notebook", "source": source, "name": self.ws.objects.normalize(path)}
        file = task["spark_python_task"]["python_file"]
        local = self.local_file(file)
        if not local.is_file():
            raise InvalidParameterValue(f"Cannot read the python file {file}: it does not exist.")
        return {**base, "kind": "python", "python_file": str(local), "argv": task["_argv"], "name": file}

    def local_file(self, file: str) -> Path:
        if file.startswith("dbfs:/"):
            return paths.resolve(self.ws.data_dir / "dbfs", paths.normalize(file, field="python_file",
                                                                            prefix="dbfs:"))
        norm = paths.normalize(file, field="python_file")
        if norm.startswith("/Volumes/"):
            return paths.resolve(self.ws.data_dir / "volumes", norm[len("/Volumes"):])
        return self.ws.objects.local_path(norm)

    def _watch(self, run: dict[str, Any], task: dict[str, Any], now: int) -> bool:
        proc = self.procs.get(task["run_id"])
        if proc is None:  # cannot happen within one server process; be safe
            self._finish_task(run, task, now, "INTERNAL_ERROR", "FAILED", LOST, ("INTERNAL_ERROR", "INTERNAL_ERROR"))
            return True
        outcome = proc.poll()
        if outcome is not None:
            task["_output"] = outcome
            task["execution_duration"] = now - task["_run_start"]
            if outcome["status"] == "SUCCESS":
                self._finish_task(run, task, now, "TERMINATED", "SUCCESS", "", TERMINATION["SUCCESS"])
            else:
                self._finish_task(run, task, now, "TERMINATED", "FAILED", TASK_FAILED, TERMINATION["FAILED"])
            return True
        timeout = int(task.get("timeout_seconds") or 0)
        if timeout and now - task["start_time"] > timeout * 1000:
            self._kill(task)
            self._finish_task(run, task, now, "TERMINATED", "TIMEDOUT", "Task timed out", TERMINATION["TIMEDOUT"],
                              cancelled=True)
            return True
        cid = task.get("_cluster_id")
        if cid:
            gone = self._cluster_gone(cid)
            if gone:
                self._kill(task)
                self._finish_task(run, task, now, "INTERNAL_ERROR", "FAILED", gone, ("CLUSTER_ERROR", "CLIENT_ERROR"))
                return True
        return False

    # -- endings -------------------------------------------------------------------------------------------

    def _kill(self, task: dict[str, Any]) -> None:
        proc = self.procs.pop(task["run_id"], None)
        if proc is not None:
            proc.kill()
            self.dying.append(proc)

    @staticmethod
    def _set_state(doc: dict[str, Any], life: str, result: str | None, message: str,
                   termination: tuple[str, str] | None = None, cancelled: bool = False) -> None:
        state = {"life_cycle_state": life, "state_message": message, "user_cancelled_or_timedout": cancelled}
        if result:
            state["result_state"] = result
        doc["state"] = state
        status: dict[str, Any] = {"state": "TERMINATED" if life in ("TERMINATED", "INTERNAL_ERROR", "SKIPPED")
                                  else life}
        if termination:
            status["termination_details"] = {"code": termination[0], "type": termination[1], "message": message}
        doc["status"] = status

    def _finish_task(self, run: dict[str, Any], task: dict[str, Any], now: int, life: str, result: str,
                     message: str, termination: tuple[str, str], cancelled: bool = False) -> None:
        self._kill(task)
        if task.get("_phase") == "RUN" and not task.get("execution_duration"):
            task["execution_duration"] = now - task.get("_run_start", now)
        task["_phase"] = "DONE"
        if not task["start_time"]:
            task["start_time"] = now
        task["end_time"] = now
        task["run_duration"] = now - task["start_time"]
        self._set_state(task, life, result, message, termination, cancelled)
        cid = task.get("_cluster_id")
        if cid and task.get("new_cluster"):
            self._terminate_cluster(cid)
        if cid:
            self._mark_active(cid)

    def _fail_all(self, run: dict[str, Any], now: int, life: str, result: str, message: str,
                  termination: tuple[str, str], cancelled: bool = False) -> None:
        """End every unfinished task and the run itself with one outcome (timeout, cancel, loss)."""
        for task in run["tasks"]:
            if task["_phase"] != "DONE":
                self._finish_task(run, task, now, life, result, message, termination, cancelled)
        self._finish_run(run, now, (life, result, message, termination, cancelled))

    def _finish_run(self, run: dict[str, Any], now: int, forced: tuple[Any, ...] | None = None) -> None:
        if forced:
            life, result, message, termination, cancelled = forced
        else:
            life, result, message, termination, cancelled = self._overall(run)
        for cid in run["_job_cluster_ids"].values():
            self._terminate_cluster(cid)
        run["end_time"] = now
        run["run_duration"] = now - run["start_time"]
        starts = [t["start_time"] for t in run["tasks"] if t["start_time"]]
        run["setup_duration"] = sum(t.get("setup_duration", 0) for t in run["tasks"])
        run["execution_duration"] = sum(t.get("execution_duration", 0) for t in run["tasks"])
        if starts:
            run["start_time"] = min(run["start_time"], *starts)
        self._set_state(run, life, result, message, termination, cancelled)
        self.active.discard(run["run_id"])

    def _overall(self, run: dict[str, Any]) -> tuple[Any, ...]:
        tasks = run["tasks"]
        internal = [t for t in tasks if t["state"]["life_cycle_state"] == "INTERNAL_ERROR"]
        if internal:
            msg = internal[0]["state"]["state_message"]
            details = internal[0]["status"]["termination_details"]
            return "INTERNAL_ERROR", "FAILED", msg, (details["code"], details["type"]), False
        results = [t["state"].get("result_state") for t in tasks]
        bad = [t for t in tasks if t["state"].get("result_state") in ("FAILED", "TIMEDOUT")]
        if not bad and all(r in ("SUCCESS", "EXCLUDED") for r in results):
            return "TERMINATED", "SUCCESS", "", TERMINATION["SUCCESS"], False
        depended = {d["task_key"] for t in tasks for d in t.get("depends_on") or []}
        leaves = [t for t in tasks if t["task_key"] not in depended]
        if bad and all(t["state"].get("result_state") in ("SUCCESS", "EXCLUDED") for t in leaves):
            return "TERMINATED", "SUCCESS_WITH_FAILURES", "", TERMINATION["SUCCESS_WITH_FAILURES"], False
        if bad and all(t["state"].get("result_state") != "FAILED" for t in bad):
            return "TERMINATED", "TIMEDOUT", "Run timed out", TERMINATION["TIMEDOUT"], True
        if bad:
            first = bad[0]
            skipped = any(r in ("UPSTREAM_FAILED",) for r in results)
            msg = f"Task {first['task_key']} failed with message: {first['state']['state_message']}."
            if skipped:
                msg += " This caused all downstream tasks to get skipped."
            return "TERMINATED", "FAILED", msg, TERMINATION["FAILED"], False
        if any(r in CANCELED_LIKE for r in results):
            return "TERMINATED", "CANCELED", "Run cancelled.", TERMINATION["CANCELED"], True
        return "TERMINATED", "FAILED", TASK_FAILED, TERMINATION["FAILED"], False

    def _terminate_cluster(self, cid: str) -> None:
        try:
            self.ws.clusters.terminate(cid, code="JOB_FINISHED", type_="SUCCESS")
        except DatabricksError:
            pass

    def _mark_active(self, cid: str) -> None:
        try:
            self.ws.clusters.mark_active(cid)
        except DatabricksError:
            pass

    # -- client actions ------------------------------------------------------------------------------------

    def cancel(self, run_id: Any, now: int) -> None:
        run, _ = self.find(run_id)
        if run["run_id"] in self.active:
            self._fail_all(run, now, "TERMINATED", "CANCELED", "Run cancelled.", TERMINATION["CANCELED"],
                           cancelled=True)
            self.save(run)

    def delete(self, run_id: Any) -> None:
        run, task = self.find(run_id)
        if task is not None:
            raise InvalidParameterValue(f"Run {task['run_id']} is a task run: delete its parent run "
                                        f"{run['run_id']} instead.")
        if run["run_id"] in self.active:
            raise InvalidState(f"Run {run['run_id']} is not in a terminal state and cannot be deleted: cancel it "
                               "first.")
        self.ws.store.delete(KIND, run["run_id"])
        del self.runs[run["run_id"]]
        for t in run["tasks"]:
            self.task_parent.pop(t["run_id"], None)
            shutil.rmtree(runner.run_dir(self.ws.data_dir, t["run_id"]), ignore_errors=True)
        if run.get("_idempotency_token"):
            self.tokens.pop(run["_idempotency_token"], None)

    def output(self, run_id: Any, single_task_parent_ok: bool) -> dict[str, Any]:
        run, task = self.find(run_id)
        if task is None:
            if len(run["tasks"]) != 1 or not single_task_parent_ok:
                raise InvalidParameterValue(
                    "Retrieving the output of runs with multiple tasks is not supported. Please retrieve the "
                    "output of each individual task run instead.")
            task = run["tasks"][0]
        out: dict[str, Any] = {"metadata": self.task_view(run, task)}
        outcome = task.get("_output")
        if outcome is None:
            if task["state"]["life_cycle_state"] == "INTERNAL_ERROR":
                out["error"] = task["state"]["state_message"]
            return out
        if outcome["status"] == "FAILED":
            out["error"] = outcome.get("error", "")
            out["error_trace"] = outcome.get("error_trace", "")
        elif task.get("notebook_task"):
            out["notebook_output"] = ({"result": outcome["result"], "truncated": bool(outcome.get("truncated"))}
                                      if outcome.get("result") is not None else {})
        if task.get("spark_python_task"):
            logs = runner.log_tail(runner.run_dir(self.ws.data_dir, task["run_id"]))
            out["logs"] = logs
            out["logs_truncated"] = False
        return out

    def task_view(self, run: dict[str, Any], task: dict[str, Any]) -> dict[str, Any]:
        """A task run as a Run object of its own (``runs/get`` / ``get-output`` metadata on a task run id)."""
        view = public(task)
        view.update({"job_id": run["job_id"], "run_name": run["run_name"], "run_type": run["run_type"],
                     "number_in_job": task["run_id"], "creator_user_name": run["creator_user_name"],
                     "parent_run_id": run["run_id"]})
        # The provider's DatabricksNotebookOperator reads a task run's failure from its own ``tasks`` list
        # (utils.databricks.extract_failed_task_errors), so the task run lists itself there.
        view["tasks"] = [public(task)]
        return view

    # -- lifecycle -----------------------------------------------------------------------------------------

    def recover(self, now: int) -> None:
        for rid in list(self.active):
            run = self.runs[rid]
            for task in run["tasks"]:
                runner.kill_leftover(task.get("_pid"), task.get("_pgid"),
                                     runner.run_dir(self.ws.data_dir, task["run_id"]))
            self._fail_all(run, now, "INTERNAL_ERROR", "FAILED", LOST, ("INTERNAL_ERROR", "INTERNAL_ERROR"))
            self.save(run)

    def shutdown(self) -> None:
        for proc in list(self.procs.values()):
            proc.kill()
        self.procs.clear()

    def is_cluster_busy(self, cluster_id: str) -> bool:
        return any(t.get("_cluster_id") == cluster_id and t["_phase"] in ("CLUSTER", "RUN")
                   for rid in self.active for t in self.runs[rid]["tasks"])
