"""A real Airflow deployment for tests, the chaos run and benchmarks: every service as a supervised process.

``dag.test()`` runs ready tasks one at a time in one process; what only a deployment shows (tasks running in
parallel, workers killed and tasks retried elsewhere, deferral through the triggerer, row locks in a real
database) needs the real thing.  :class:`AirflowDeployment` starts it in a temporary AIRFLOW_HOME, on
loopback only, with an in-process local workspace as ``databricks_default``:

* ``executor="local"`` (the default): SQLite, LocalExecutor with ``parallelism`` slots; api-server,
  dag-processor, scheduler and triggerer.
* ``executor="celery"``: PostgreSQL (metadata DB and Celery result backend) and Redis (broker) from pip
  (:mod:`airbricks.testing.servers`), the same four services and ``workers`` Celery workers
  (``worker-1``, ``worker-2``...), each ``parallelism // workers`` slots.  Needs ``airbricks[distributed]``.

Start-up is parallel where Airflow allows it: PostgreSQL and Redis together, the workers while ``db migrate``
runs, then the four services together; each is ready on a real check (a query, a PING, the api-server's
health report naming the component healthy, the worker's ``ready.`` line).  Everything is stopped by
:meth:`stop`, and by :mod:`airbricks.testing.processes` on exit, Ctrl-C or the death of this process.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import requests

from airbricks.testing.processes import Service, Supervisor, descendants
from airbricks.testing.servers import PostgresServer, RedisServer, free_port

EXECUTORS = ("local", "celery")
#: The api-server's health report names these components; a service is ready once its own is healthy.
HEALTH_COMPONENT = {"scheduler": "scheduler", "triggerer": "triggerer", "dag-processor": "dag_processor"}


class AirflowDeployment:
    """Airflow's services over ``dag_files`` (name -> source), plus a local workspace in this process.

    :param root: an empty directory for AIRFLOW_HOME, the DAGs folder, the workspace and every service's log
        (``<root>/<service>.log``).
    :param dag_ids: DAGs that must be parsed and unpaused before :meth:`start` returns.
    :param executor: ``"local"`` (SQLite) or ``"celery"`` (PostgreSQL + Redis + Celery workers).
    :param parallelism: task slots in all (Celery: split over the workers).
    :param heartbeat_timeout: seconds without a task heartbeat before the scheduler fails the task (and
        retries it): how long a task on a dead worker stays "running".
    """

    def __init__(
        self,
        root: Path,
        dag_files: dict[str, str],
        dag_ids: Iterable[str],
        *,
        parallelism: int = 4,
        cluster_start_seconds: float = 2.0,
        cluster_stop_seconds: float = 0.5,
        executor: str = "local",
        workers: int = 2,
        heartbeat_timeout: float = 60.0,
    ) -> None:
        from airbricks.workspace.server.serve import LocalWorkspace

        if executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
        self.root = Path(root)
        self.home = self.root / "airflow"
        self.dags = self.root / "dags"
        self.dag_files = dag_files
        self.dag_ids = set(dag_ids)
        self.parallelism = parallelism
        self.executor = executor
        self.worker_names = [f"worker-{i + 1}" for i in range(workers)] if executor == "celery" else []
        self.heartbeat_timeout = heartbeat_timeout
        self.workspace = LocalWorkspace(
            self.root / "workspace",
            cluster_start_seconds=cluster_start_seconds,
            cluster_stop_seconds=cluster_stop_seconds,
        )
        self.api_port = free_port()
        self.supervisor = Supervisor(self.root)
        self.postgres = PostgresServer() if executor == "celery" else None
        self.redis = RedisServer(workdir=self.root) if executor == "celery" else None
        self._log_ports = {"worker": free_port(), "triggerer": free_port()}
        #: Seconds each start-up phase took (servers, migrate, services), for benchmarks and notes.
        self.timings: dict[str, float] = {}

    @property
    def db(self) -> Path:
        return self.home / "airflow.db"

    @property
    def procs(self) -> dict[str, subprocess.Popen[bytes]]:
        return {name: s.proc for name, s in self.supervisor.services.items() if s.proc is not None}

    def env(self) -> dict[str, str]:
        """The services' environment: this process's, minus any AIRFLOW* setting that would leak in."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        api = f"http://127.0.0.1:{self.api_port}"
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__BASE_URL": api,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__API_AUTH__JWT_SECRET": "airbricks-bench-jwt-secret-not-a-databricks-token",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
                "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "2",
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(int(self.heartbeat_timeout)),
                "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
                "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
                # Loopback ports of our own: the defaults (8793/8794) may be taken by another deployment here.
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self._log_ports["worker"]),
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self._log_ports["triggerer"]),
                "AIRFLOW_CONN_DATABRICKS_DEFAULT": self.workspace.connection_uri,
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.executor == "local":
            env.update(
                {
                    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db}",
                }
            )
        else:
            assert self.postgres is not None and self.redis is not None
            db = self.postgres.url("psycopg")
            env.update(
                {
                    "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                    # psycopg 3 is both the sync and the async driver: one package instead of psycopg2 + asyncpg.
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db,
                    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": db,
                    "AIRFLOW__CELERY__BROKER_URL": self.redis.url,
                    "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + db,
                    "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(max(1, self.parallelism // len(self.worker_names))),
                    "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
                }
            )
        return env

    # -- start / stop ------------------------------------------------------------------------------------

    def start(self) -> None:
        started = time.monotonic()
        self.home.mkdir(parents=True)
        self.dags.mkdir()
        for name, source in self.dag_files.items():
            (self.dags / name).write_text(source)
        if self.postgres is not None and self.redis is not None:
            self.postgres.init()
            self.supervisor.spawn(self.postgres.service())
            self.supervisor.spawn(self.redis.service())
        self.workspace.start()
        self.supervisor.wait_ready()
        self.timings["servers"] = time.monotonic() - started
        env = self.env()
        for name in self.worker_names:  # a worker's start-up (imports, broker) overlaps db migrate
            self.supervisor.spawn(self._worker(name, env))
        migrate = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        if migrate.returncode:
            raise RuntimeError(f"airflow db migrate failed:\n{migrate.stdout.decode(errors='replace')[-3000:]}")
        self.timings["migrate"] = time.monotonic() - started - self.timings["servers"]
        for name in ("api-server", "dag-processor", "scheduler", "triggerer"):
            self.supervisor.spawn(self._airflow_service(name, env))
        self.supervisor.wait_ready(timeout=240)
        self._wait_dags()
        self.timings["total"] = time.monotonic() - started

    def _airflow_service(self, name: str, env: dict[str, str]) -> Service:
        ready = self._api_healthy if name == "api-server" else (lambda: self._component_healthy(name))
        return Service(name, [sys.executable, "-m", "airflow", name], env=env, ready=ready, cwd=self.root)

    def _worker(self, name: str, env: dict[str, str]) -> Service:
        argv = [
            sys.executable,
            "-m",
            "airflow",
            "celery",
            "worker",
            "--celery-hostname",
            f"{name}@%h",
            "--pid",
            str(self.root / f"{name}.pid"),
            "--skip-serve-logs",
            "--without-gossip",
            "--without-mingle",
        ]
        log = self.root / f"{name}.log"
        offset = log.stat().st_size if log.exists() else 0

        def ready() -> bool:
            return log.exists() and " ready." in log.read_text(errors="replace")[offset:]

        return Service(name, argv, env=env, ready=ready, cwd=self.root)

    def _api_healthy(self) -> bool:
        return requests.get(f"http://127.0.0.1:{self.api_port}/api/v2/monitor/health", timeout=5).ok

    def _component_healthy(self, name: str) -> bool:
        health = requests.get(f"http://127.0.0.1:{self.api_port}/api/v2/monitor/health", timeout=5).json()
        return (health.get(HEALTH_COMPONENT[name]) or {}).get("status") == "healthy"

    def _wait_dags(self, timeout: float = 240.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._dags_parsed():
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the DAGs {sorted(self.dag_ids)} were not parsed and unpaused within "
                    f"{timeout:.0f} s; see {self.root / 'dag-processor.log'}"
                )
            time.sleep(0.5)

    def _dags_parsed(self) -> bool:
        try:
            rows = self.query("SELECT dag_id FROM dag WHERE is_paused = ?", False)
        except Exception:  # the table is not there yet
            return False
        return self.dag_ids <= {row[0] for row in rows}

    def stop_airflow(self) -> None:
        """SIGTERM each Airflow service's (and worker's) process group, then SIGKILL it."""
        servers = {"postgres", "redis"}
        for name in [n for n in self.supervisor.services if n not in servers][::-1]:
            self.supervisor.stop(name)

    def stop(self) -> None:
        try:
            self.supervisor.stop_all()
        finally:
            with contextlib.suppress(Exception):
                self.workspace.stop()
            if self.postgres is not None:
                self.postgres.cleanup()

    def rss_bytes(self) -> int:
        """Resident memory of every service and what it forked (sum of RSS: pages shared after a fork count
        once per process, so an upper bound); the in-process workspace is not included."""
        import psutil

        total = 0
        for service in self.supervisor.services.values():
            if not service.running():
                continue
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(service.pid)
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += proc.memory_info().rss
        return total

    # -- faults the chaos run and the tests inject ------------------------------------------------------

    def worker_running(self, ti_id: str) -> str | None:
        """The Celery worker (``worker-N``) whose process tree runs the task instance ``ti_id``."""
        import psutil

        for name in self.worker_names:
            service = self.supervisor.services.get(name)
            if service is None or not service.running() or service.pid is None:
                continue
            for child in descendants(service.pid):
                with contextlib.suppress(psutil.Error):
                    if ti_id in " ".join(child.cmdline()):
                        return name
        return None

    def kill_service(self, name: str) -> None:
        """kill -9 of a service's whole process group (a lost machine: no ``on_kill``, no clean-up)."""
        self.supervisor.kill(name)

    def warm_shutdown(self, name: str, timeout: float = 600.0, wait: bool = True) -> None:
        """Celery's warm shutdown (SIGTERM to the worker's main process: finish the running tasks, take no
        new ones); ``wait``: until it exited."""
        service = self.supervisor.services[name]
        assert service.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(service.proc.pid, signal.SIGTERM)
        if wait:
            service.proc.wait(timeout=timeout)

    def restart(self, name: str, wait: bool = True) -> None:
        """Stop (if still running) and start a service again; ``wait``: until it is ready."""
        service = self.supervisor.services[name]
        self.supervisor.stop(name)
        if name in self.worker_names:  # a fresh readiness check: the log's new ``ready.`` line
            service = self._worker(name, service.env or self.env())
        self.supervisor.spawn(service)
        if wait:
            self.supervisor.wait_ready([name])

    # -- talking to the pieces ---------------------------------------------------------------------------

    def ws(self, method: str, path: str, **kwargs: Any) -> Any:
        """The local workspace over HTTP, retried: the harness itself must not trip over injected faults."""
        for attempt in range(10):
            try:
                response = requests.request(
                    method,
                    self.workspace.url + path,
                    timeout=30,
                    headers={"Authorization": f"Bearer {self.workspace.token}"},
                    **kwargs,
                )
                if response.status_code < 500 and response.status_code != 429:
                    response.raise_for_status()
                    return response.json()
            except requests.ConnectionError:
                pass
            time.sleep(0.5 * (attempt + 1))
        raise RuntimeError(f"{method} {path} kept failing")

    def trigger(self, dag_id: str, run_id: str, logical_date: datetime.datetime) -> None:
        """POST a DAG run; SQLite's single writer (or a restarting database) can make the API answer 5xx: retry."""
        response = None
        for attempt in range(20):
            with contextlib.suppress(requests.ConnectionError):
                response = requests.post(
                    f"http://127.0.0.1:{self.api_port}/api/v2/dags/{dag_id}/dagRuns",
                    timeout=60,
                    json={"dag_run_id": run_id, "logical_date": logical_date.isoformat()},
                )
                if response.ok or (response.status_code == 409 and attempt):  # 409: an earlier try got through
                    return
                if response.status_code < 500:
                    break
            time.sleep(1 + attempt)
        detail = f"{response.status_code} {response.text}" if response is not None else "no answer"
        raise RuntimeError(f"triggering {dag_id} {run_id}: {detail}")

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """A read on the metadata DB (``?`` placeholders on either database), retried while it is busy."""
        last: Exception | None = None
        for _ in range(50):
            try:
                if self.postgres is None:
                    uri = f"file:{self.db}?mode=ro"
                    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as conn:
                        return conn.execute(sql, args).fetchall()
                import psycopg

                with psycopg.connect(
                    host="127.0.0.1", port=self.postgres.port, user="postgres", dbname="postgres", connect_timeout=5
                ) as conn:
                    return list(conn.execute(sql.replace("?", "%s"), args).fetchall())
            except (sqlite3.OperationalError, OSError) as exc:  # locked by a writer, or restarting
                last = exc
            except Exception as exc:
                if type(exc).__module__.startswith("psycopg") and "OperationalError" in type(exc).__name__:
                    last = exc
                else:
                    raise
            time.sleep(0.2)
        raise RuntimeError(f"the metadata DB did not answer: {sql} ({last})")

    def wait_run(self, dag_id: str, run_id: str, timeout: float, poll: float = 0.3) -> str:
        """Block until the DAG run is finished (``success``/``failed``); its state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", dag_id, run_id)
            if rows and rows[0][0] in ("success", "failed"):
                return rows[0][0]
            time.sleep(poll)
        raise RuntimeError(f"DAG run {dag_id} {run_id} did not finish within {timeout:.0f} s")
