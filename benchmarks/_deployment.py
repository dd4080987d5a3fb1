"""A real Airflow deployment for benchmarks: scheduler, triggerer, dag-processor and api-server as subprocesses.

``dag.test()`` runs ready tasks one at a time and in one process; what only a deployment shows (tasks running
in parallel, task processes killed and retried, deferral through the triggerer) needs the real thing.  This
module starts it in a temporary AIRFLOW_HOME: SQLite metadata DB, LocalExecutor with ``parallelism`` slots, the
task runners talking to the api-server's execution API on a free port, and an in-process local workspace
whose connection is ``databricks_default``.  Used by ``chaos.py`` and ``cluster_strategies.py --shapes parallel``.
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


class AirflowDeployment:
    """Airflow's four services over ``dag_files`` (name -> source), plus a local workspace in this process."""

    def __init__(self, root: Path, dag_files: dict[str, str], dag_ids: Iterable[str], *, parallelism: int = 4,
                 cluster_start_seconds: float = 2.0, cluster_stop_seconds: float = 0.5) -> None:
        from airbricks.workspace.server import LocalWorkspace, free_port

        self.root = root
        self.home = root / "airflow"
        self.dags = root / "dags"
        self.dag_files = dag_files
        self.dag_ids = set(dag_ids)
        self.parallelism = parallelism
        self.workspace = LocalWorkspace(root / "workspace", cluster_start_seconds=cluster_start_seconds,
                                        cluster_stop_seconds=cluster_stop_seconds)
        self.api_port = free_port()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def db(self) -> Path:
        return self.home / "airflow.db"

    def env(self) -> dict[str, str]:
        """The services' environment: this process's, minus any AIRFLOW* setting that would leak in."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        api = f"http://127.0.0.1:{self.api_port}"
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__BASE_URL": api,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": "airbricks-bench-jwt-secret-not-a-databricks-token",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db}",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW_CONN_DATABRICKS_DEFAULT": self.workspace.connection_uri,
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def start(self) -> None:
        self.home.mkdir(parents=True)
        self.dags.mkdir()
        for name, source in self.dag_files.items():
            (self.dags / name).write_text(source)
        self.workspace.start()
        env = self.env()
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name in ("api-server", "dag-processor", "scheduler", "triggerer"):
            with open(self.root / f"{name}.log", "wb") as out:
                self.procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "airflow", name], env=env, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True)
        self._wait_ready()

    def _wait_ready(self, timeout: float = 240.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    tail = (self.root / f"{name}.log").read_text()[-3000:]
                    raise RuntimeError(f"airflow {name} exited with {proc.returncode}:\n{tail}")
            with contextlib.suppress(requests.RequestException, sqlite3.Error):
                healthy = requests.get(f"http://127.0.0.1:{self.api_port}/api/v2/monitor/health", timeout=5).ok
                if healthy and self._dags_parsed():
                    return
            time.sleep(1)
        raise RuntimeError(f"the Airflow deployment did not become ready (api-server health, DAGs "
                           f"{sorted(self.dag_ids)} parsed and unpaused)")

    def _dags_parsed(self) -> bool:
        with contextlib.closing(sqlite3.connect(self.db, timeout=30)) as conn:
            rows = conn.execute("SELECT dag_id FROM dag WHERE is_paused = 0").fetchall()
        return self.dag_ids <= {row[0] for row in rows}

    def stop_airflow(self) -> None:
        """SIGTERM each service's process group, then SIGKILL it: task processes the executor forked too."""
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)

    def stop(self) -> None:
        self.stop_airflow()
        self.workspace.stop()

    # -- talking to the pieces ---------------------------------------------------------------------------

    def ws(self, method: str, path: str, **kwargs: Any) -> Any:
        """The local workspace over HTTP, retried: the harness itself must not trip over injected faults."""
        for attempt in range(10):
            try:
                response = requests.request(method, self.workspace.url + path, timeout=30, headers={
                    "Authorization": f"Bearer {self.workspace.token}"}, **kwargs)
                if response.status_code < 500 and response.status_code != 429:
                    response.raise_for_status()
                    return response.json()
            except requests.ConnectionError:
                pass
            time.sleep(0.5 * (attempt + 1))
        raise RuntimeError(f"{method} {path} kept failing")

    def trigger(self, dag_id: str, run_id: str, logical_date: datetime.datetime) -> None:
        """POST a DAG run; SQLite's single writer can make the API server answer 500 (locked): retry."""
        for attempt in range(20):
            response = requests.post(
                f"http://127.0.0.1:{self.api_port}/api/v2/dags/{dag_id}/dagRuns", timeout=60,
                json={"dag_run_id": run_id, "logical_date": logical_date.isoformat()})
            if response.ok or (response.status_code == 409 and attempt):  # 409: an earlier try got through
                return
            if response.status_code < 500:
                break
            time.sleep(1 + attempt)
        raise RuntimeError(f"triggering {dag_id} {run_id}: {response.status_code} {response.text}")

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        for _ in range(20):
            try:
                with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)) as conn:
                    return conn.execute(sql, args).fetchall()
            except sqlite3.OperationalError:  # locked by a writer: try again
                time.sleep(0.2)
        raise RuntimeError(f"the metadata DB stayed locked for: {sql}")

    def wait_run(self, dag_id: str, run_id: str, timeout: float, poll: float = 0.3) -> str:
        """Block until the DAG run is finished (``success``/``failed``); its state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", dag_id, run_id)
            if rows and rows[0][0] in ("success", "failed"):
                return rows[0][0]
            time.sleep(poll)
        raise RuntimeError(f"DAG run {dag_id} {run_id} did not finish within {timeout:.0f} s")
