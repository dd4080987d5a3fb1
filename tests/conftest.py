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
