"""Shared fixtures: one local workspace over real HTTP for the session, real clients pointed at it.

Airflow reads its configuration at import, so AIRFLOW_HOME (a temporary dir, never the user's) is set here,
before any test module imports Airflow.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="airbricks-tests-"))
os.environ["AIRFLOW_HOME"] = str(_SESSION_DIR / "airflow")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_SESSION_DIR / 'airflow' / 'airflow.db'}"
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO")

from airbricks.workspace.server import LocalWorkspace  # noqa: E402


@pytest.fixture(scope="session")
def session_dir() -> Path:
    return _SESSION_DIR


@pytest.fixture(scope="session")
def local_ws(session_dir: Path) -> Iterator[LocalWorkspace]:
    """The session's local workspace, with fast (scaled) cluster lifecycles."""
    ws = LocalWorkspace(session_dir / "workspace", cluster_start_seconds=0.5, cluster_stop_seconds=0.2)
    ws.start()
    os.environ["AIRFLOW_CONN_DATABRICKS_DEFAULT"] = ws.connection_uri
    yield ws
    ws.stop()


@pytest.fixture(scope="session")
def sdk(local_ws: LocalWorkspace):
    """A real ``databricks-sdk`` client against the local workspace."""
    from databricks.sdk import WorkspaceClient

    return WorkspaceClient(host=local_ws.url, token=local_ws.token, auth_type="pat")


@pytest.fixture(scope="session")
def airflow_db(local_ws: LocalWorkspace) -> Path:
    """Airflow's SQLite metadata DB, migrated once, with ``databricks_default`` pointing at the local workspace."""
    import subprocess
    import sys

    dags = _SESSION_DIR / "dags"
    dags.mkdir(exist_ok=True)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, env=os.environ.copy(),
                   stdout=subprocess.DEVNULL)
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBundlesManager().sync_bundles_to_db()  # the dag rows of run_dag reference the "dags-folder" bundle
    return _SESSION_DIR / "airflow"


@pytest.fixture
def run_dag(airflow_db: Path):
    """Run a DAG object with real Airflow (``dag.test()`` on the SQLite metadata DB); returns the DagRun.

    Airflow 3.3's ``dag.test()`` only runs DAGs it finds serialized in the metadata DB, so the DAG is
    synced there first, as the DAG processor would after parsing its file.
    """
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    def run(dag, **kwargs):
        bag = DagBag(dag_folder=os.devnull)
        bag.bag_dag(dag)
        sync_bag_to_db(bag, "dags-folder", None)
        return dag.test(**kwargs)

    return run


class ServeProcess:
    """``airbricks serve`` as a child process (the real command line), for restart and kill -9 tests."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        from airbricks.workspace.server import free_port

        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The restart and kill -9 tests are about the workspace's own state: no Spark drivers unless asked for.
        self.args = args if "--spark" in args else ("--spark", "off", *args)
        self.proc = None
        self.stdout = ""

    def start(self) -> ServeProcess:
        import subprocess
        import sys
        import time

        import requests

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "airbricks.cli", "serve", "--data-dir", str(self.data_dir), "--port",
             str(self.port), *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{self.url}/.well-known/databricks-config", timeout=1)
                return self
            except requests.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    out = self.proc.communicate()[0] if self.proc.poll() is not None else ""
                    raise RuntimeError(f"airbricks serve did not come up on {self.url}: {out}") from None
                time.sleep(0.05)

    def kill9(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        self.proc.kill()
        self.stdout = self.proc.communicate(timeout=10)[0]

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        import subprocess

        if self.proc is None or self.proc.poll() is not None:
            if self.proc is not None and not self.stdout:
                self.stdout = self.proc.communicate()[0]
            return
        self.proc.terminate()
        try:
            self.stdout = self.proc.communicate(timeout=15)[0]
        except subprocess.TimeoutExpired:
            self.kill9()


@pytest.fixture
def serve_process() -> Iterator:
    """``serve_process(data_dir, *cli_args)``: start ``airbricks serve`` as a subprocess; stopped after the test."""
    started: list[ServeProcess] = []

    def start(data_dir: Path, *args: str) -> ServeProcess:
        proc = ServeProcess(data_dir, *args).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture
def add_faults(local_ws: LocalWorkspace):
    """Inject faults into the session's workspace through its admin endpoint (no back door into the models);
    every rule is cleared when the test ends."""
    import requests

    url = f"{local_ws.url}/api/2.0/airbricks/faults"
    headers = {"Authorization": f"Bearer {local_ws.token}"}

    def add(*rules: dict) -> list[str]:
        response = requests.post(url, json={"rules": list(rules)}, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["rule_ids"]

    yield add
    requests.delete(url, headers=headers, timeout=10).raise_for_status()
