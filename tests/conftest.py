"""Shared fixtures: the airbricks pytest plugin's (``airbricks.testing.plugin``), under the names these tests use.

The project's suite runs on what users get: the plugin sets an isolated AIRFLOW_HOME before any test module
imports Airflow, starts one local workspace over real HTTP for the session (scaled cluster lifecycles, the
``airbricks_*`` options in pyproject.toml), migrates the metadata DB once, points ``databricks_default`` at the
workspace and runs DAGs with ``dag.test()`` (``run_dag``). Only what users have no need for lives here:
``airbricks serve`` as a child process for the restart and kill -9 tests, and fault injection.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the session's other workspaces (the Spark one)."""
    return tmp_path_factory.mktemp("session")


@pytest.fixture(scope="session")
def local_ws(local_workspace: Any) -> Any:
    """The plugin's session workspace, as the in-process server (``url``, ``token``, ``workspace``)."""
    return local_workspace.server


@pytest.fixture(scope="session")
def sdk(workspace_client: Any) -> Any:
    """A real ``databricks-sdk`` client against the local workspace (the plugin's ``workspace_client``)."""
    return workspace_client


@pytest.fixture(scope="session")
def airflow_db(airflow_env: Any) -> Path:
    """Airflow's SQLite metadata DB, migrated once, with ``databricks_default`` pointing at the local workspace."""
    return airflow_env.home


class ServeProcess:
    """``airbricks serve`` as a child process (the real command line), for restart and kill -9 tests."""

    def __init__(self, data_dir: Path, *args: str) -> None:
        from airbricks.workspace.server.serve import free_port

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
            [
                sys.executable,
                "-m",
                "airbricks.cli",
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                *self.args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
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
def add_faults(local_ws: Any):
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
