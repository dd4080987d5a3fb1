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
