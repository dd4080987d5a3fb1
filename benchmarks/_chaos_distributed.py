"""The chaos run's faults that only exist once Airflow spans processes (``chaos.py --executor celery``).

* ``worker kill -9``: the whole Celery worker (Celery, its pool, the task process) running ``start_cluster``
  is SIGKILLed while the cluster is PENDING, like a lost machine; Airflow fails the try once its heartbeats
  stop, the retry lands on the other worker and adopts the cluster.  The worker is started again at once.
* ``warm shutdown``: SIGTERM to a worker running one of the run's tasks: it finishes what it runs, takes
  nothing new, exits; it is started again once it has.
* ``scheduler restart`` and ``triggerer restart`` (the latter while one of the run's tasks is deferred).
* ``postgres restart``: a fast shutdown and start of the metadata database, once per chaos run.

A fault is recorded on every DAG run it reached (:attr:`Run.events`), whichever run's plan asked for it: a
worker fault on the runs with a task on that worker at that moment, a scheduler, triggerer or database
restart on every run active then.  A run's label says exactly what it went through, and a worker kill names
the run's tasks it took down.
A service that dies of a fault (a scheduler losing the database) is started again, as a real deployment's
process manager would, and counted.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from typing import Any

#: The deployment-wide faults a plan can ask for, in the order they are tried.
DISTRIBUTED_FAULTS = ("worker kill -9", "warm shutdown", "scheduler restart", "triggerer restart")


def draw(rng: random.Random, deferrable: bool) -> list[str]:
    """A seeded choice of distributed faults for one run (at most one worker fault)."""
    faults = []
    worker = rng.random()
    if worker < 0.25 and not deferrable:  # a deferred start_cluster waits in the triggerer, not on a worker
        faults.append("worker kill -9")
    elif worker < 0.4:
        faults.append("warm shutdown")
    if rng.random() < 0.15:
        faults.append("scheduler restart")
    if deferrable and rng.random() < 0.5:
        faults.append("triggerer restart")
    return faults


class DistributedFaults:
    """Fires the distributed faults of the active runs when their moment comes; restarts what they stopped."""

    def __init__(self, dep: Any, say: Any, postgres_restart_at: int | None) -> None:
        self.dep = dep
        self.say = say
        self.postgres_restart_at = postgres_restart_at
        self.draining: list[str] = []  # workers in warm shutdown, started again once they exited
        self.counts: dict[str, int] = {}
        self.crash_restarts: dict[str, int] = {}

    def _record(self, kind: str, reached: list[Any]) -> None:
        """Count one fault; put it on each run it reached: runs, or (run, tasks it hit) for a worker fault."""
        self.counts[kind] = self.counts.get(kind, 0) + 1
        for item in reached:
            run, tasks = item if isinstance(item, tuple) else (item, [])
            run.events.append(f"{kind} ({', '.join(tasks)})" if tasks else kind)

    def _on_worker(self, worker: str, active: list[Any], lost: bool = False) -> list[tuple[Any, list[str]]]:
        """The active runs with a task running on ``worker`` now, with those tasks: what a worker fault
        reaches.  ``lost``: the worker is about to be killed, so each of those tasks loses its current try
        (``Run.lost``: the try numbers lost, per task)."""
        hit: list[tuple[Any, list[str]]] = []
        for run in active:
            rows = self.dep.query(
                "SELECT id, task_id, try_number FROM task_instance WHERE dag_id = ? AND run_id = ? "
                "AND state = 'running'",
                run.dag_id,
                run.run_id,
            )
            on_worker = [row for row in rows if self.dep.worker_running(str(uuid.UUID(str(row[0])))) == worker]
            if on_worker:
                hit.append((run, [row[1] for row in on_worker]))
            for _, task_id, try_number in on_worker if lost else ():
                run.lost.setdefault(task_id, set()).add(int(try_number))
        return hit

    def _ti(self, run: Any, task_id: str) -> tuple[str, str, int] | None:
        rows = self.dep.query(
            "SELECT id, state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = ?",
            run.dag_id,
            run.run_id,
            task_id,
        )
        if not rows:
            return None
        return str(uuid.UUID(str(rows[0][0]))), rows[0][1], rows[0][2]

    def _pending_cluster(self, run: Any) -> bool:
        return any(
            (c.get("custom_tags") or {}).get("airflow_run_id") == run.run_id and c["state"] == "PENDING"
            for c in self.dep.ws("GET", "/api/2.0/airbricks/clusters")["clusters"]
        )

    def step(self, active: list[Any], started_runs: int) -> None:
        """One pass of the harness loop: keep services alive, then fire whatever fault is due."""
        self._keep_alive()
        if self.postgres_restart_at is not None and started_runs > self.postgres_restart_at and active:
            self.postgres_restart_at = None
            self.say("postgres restart (fast shutdown, start)")
            self.dep.supervisor.restart("postgres")
            self._record("postgres restart", active)
        for run in list(active):
            for kind in [k for k in run.plan.distributed if k not in run.fired]:
                if self._fire(kind, run, active):
                    run.fired.append(kind)
                    self.say(f"run {run.index:3d}: {kind}")

    def _fire(self, kind: str, run: Any, active: list[Any]) -> bool:
        if kind == "worker kill -9":
            ti = self._ti(run, "start_cluster")
            if not ti or ti[1] != "running" or ti[2] != 1 or not self._pending_cluster(run):
                return False
            worker = self.dep.worker_running(ti[0])
            if worker is None:
                return False
            reached = self._on_worker(worker, active, lost=True)
            self.dep.kill_service(worker)
            self._record(kind, reached)
            self.dep.restart(worker, wait=False)
            return True
        if kind == "warm shutdown":
            for task_id in ("start_cluster", "load_table", "run_notebook"):
                ti = self._ti(run, task_id)
                worker = self.dep.worker_running(ti[0]) if ti and ti[1] == "running" else None
                if worker and worker not in self.draining:
                    reached = self._on_worker(worker, active)
                    self.dep.warm_shutdown(worker, wait=False)
                    self.draining.append(worker)
                    self._record(kind, reached)
                    return True
            return False
        if kind == "scheduler restart":
            ti = self._ti(run, "start_cluster")
            if not ti or ti[1] not in ("running", "deferred", "success"):
                return False
            self.dep.restart("scheduler")
            self._record(kind, active)
            return True
        if kind == "triggerer restart":
            deferred = [
                t
                for t in ("start_cluster", "load_table", "run_notebook")
                if (ti := self._ti(run, t)) and ti[1] == "deferred"
            ]
            if not deferred:
                return False
            self.dep.restart("triggerer")
            self._record(kind, active)
            return True
        raise ValueError(f"unknown distributed fault {kind!r}")

    def _keep_alive(self) -> None:
        services = self.dep.supervisor.services
        for name in list(self.draining):
            if not services[name].running():
                self.draining.remove(name)
                self.dep.restart(name, wait=False)
        for name, service in services.items():
            if name in self.draining or service.running() or service.proc is None:
                continue
            self.crash_restarts[name] = self.crash_restarts.get(name, 0) + 1
            self.say(f"{name} exited ({service.proc.returncode}): starting it again")
            with contextlib.suppress(Exception):
                self.dep.restart(name, wait=name not in self.dep.worker_names)

    def settle(self, timeout: float = 60.0) -> None:
        """At the end: every drained or killed worker running again (so the deployment stops cleanly)."""
        deadline = time.monotonic() + timeout
        while self.draining and time.monotonic() < deadline:
            self._keep_alive()
            time.sleep(0.5)
