"""An isolated Airflow for tests: its own AIRFLOW_HOME and SQLite metadata DB, connections to the workspace.

Airflow reads its configuration when it is first imported, so :meth:`AirflowEnvironment.activate` must run
before anything imports ``airflow`` (the pytest plugin does it in ``pytest_load_initial_conftests``, before
conftest files and test modules are imported). Then :meth:`~AirflowEnvironment.migrate` creates the metadata
DB once, and :meth:`~AirflowEnvironment.run_dag` runs a DAG with real Airflow (``dag.test()``).
"""

from __future__ import annotations

import datetime
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from airbricks.testing.dag_run import DagRunResult, capture_task_logs

#: The connection every airbricks and provider operator uses unless told otherwise.
DEFAULT_CONN_ID = "databricks_default"
#: The bundle ``dag.test()`` rows reference: Airflow's default bundle over the DAGs folder.
BUNDLE = "dags-folder"


class AirflowNotIsolated(RuntimeError):
    """Airflow was imported before the isolated AIRFLOW_HOME was set, so it would use someone else's."""


def connection_env(conn_id: str) -> str:
    """The environment variable Airflow reads connection ``conn_id`` from."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


class AirflowEnvironment:
    """Airflow configured by environment variables under ``home``, never the user's own AIRFLOW_HOME.

    :param home: the AIRFLOW_HOME to use (created); the SQLite DB is ``home/airflow.db``.
    :param dags_folder: the user's DAG folder (where ``run_dag("dag_id")`` looks); default ``home/dags``.
    """

    def __init__(self, home: str | Path, dags_folder: str | Path | None = None) -> None:
        self.home = Path(home).resolve()
        self.dags_folder = Path(dags_folder).resolve() if dags_folder else self.home / "dags"
        self.connection_ids: list[str] = []
        self._saved: dict[str, str | None] = {}
        self._migrated = False

    def variables(self) -> dict[str, str]:
        return {
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
        }

    def activate(self) -> AirflowEnvironment:
        """Set the variables in this process (before Airflow is imported); :meth:`deactivate` restores them."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.dags_folder.mkdir(parents=True, exist_ok=True)
        for name, value in self.variables().items():
            self._set(name, value)
        return self

    def _set(self, name: str, value: str) -> None:
        self._saved.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def deactivate(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()

    def check_isolated(self) -> None:
        """Refuse to touch a metadata DB that is not ours (Airflow imported before :meth:`activate`)."""
        configuration = sys.modules.get("airflow.configuration")
        if configuration is not None and Path(getattr(configuration, "AIRFLOW_HOME", "")).resolve() != self.home:
            raise AirflowNotIsolated(
                f"Airflow was imported with AIRFLOW_HOME={configuration.AIRFLOW_HOME} before the isolated "
                f"{self.home} was set: import Airflow only inside tests, or let the airbricks pytest plugin "
                "load first (it sets AIRFLOW_HOME before conftest files are imported)."
            )

    def connect(self, connection_uri: str, conn_ids: Iterable[str] = ()) -> None:
        """Point ``databricks_default`` and every id in ``conn_ids`` at a workspace (environment connections)."""
        for conn_id in dict.fromkeys([DEFAULT_CONN_ID, *conn_ids]):
            self._set(connection_env(conn_id), connection_uri)
            if conn_id not in self.connection_ids:
                self.connection_ids.append(conn_id)

    def migrate(self) -> None:
        """The metadata DB migrated (once; what ``airflow db migrate`` does, in this process: Airflow's imports
        are paid once, not again by a child process), and the DAG bundle synced so DAG rows can reference it."""
        if self._migrated:
            return
        self.check_isolated()
        from airflow.dag_processing.bundles.manager import DagBundlesManager
        from airflow.utils import db

        db.upgradedb()
        DagBundlesManager().sync_bundles_to_db()
        self._migrated = True

    def load_dag(self, dag_id: str) -> Any:
        """The DAG ``dag_id`` parsed from the DAGs folder (a clear error lists what the folder holds)."""
        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(self.dags_folder))
        dag = bag.dags.get(dag_id)
        if dag is None:
            errors = "".join(
                f"\n  {path}: {error.strip().splitlines()[-1]}" for path, error in bag.import_errors.items()
            )
            raise LookupError(
                f"No DAG {dag_id!r} in {self.dags_folder}: it holds {sorted(bag.dags) or 'none'}"
                + (f"; import errors:{errors}" if errors else "")
            )
        return dag

    def run_dag(
        self,
        dag: Any,
        *,
        conf: Mapping[str, Any] | None = None,
        logical_date: datetime.datetime | str | None = None,
        **test_kwargs: Any,
    ) -> DagRunResult:
        """Run ``dag`` (a DAG object, or a ``dag_id`` in the DAGs folder) once with ``dag.test()``.

        Airflow 3.3's ``dag.test()`` only runs DAGs it finds serialized in the metadata DB, so the DAG is
        synced there first, as the DAG processor would after parsing its file. Returns a
        :class:`~airbricks.testing.dag_run.DagRunResult` (state, task states, XComs, task log text).
        """
        self.migrate()
        if isinstance(dag, str):
            dag = self.load_dag(dag)
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

        bag = DagBag(dag_folder=os.devnull)
        bag.bag_dag(dag)
        sync_bag_to_db(bag, BUNDLE, None)
        if isinstance(logical_date, str):
            logical_date = datetime.datetime.fromisoformat(logical_date)
        if logical_date is not None and logical_date.tzinfo is None:
            logical_date = logical_date.replace(tzinfo=datetime.timezone.utc)
        if logical_date is not None:
            test_kwargs["logical_date"] = logical_date
        with capture_task_logs() as logs:
            dag_run = dag.test(run_conf=dict(conf) if conf is not None else None, **test_kwargs)
        return DagRunResult(dag_run, logs)
