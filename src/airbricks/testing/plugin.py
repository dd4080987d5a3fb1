"""The airbricks pytest plugin: a local workspace, an isolated Airflow and a DAG runner as fixtures.

Registered as the ``airbricks`` ``pytest11`` entry point, so pytest loads it wherever airbricks is installed -
also on a worker with only the base package, running pytest for other code. Loading it is cheap there: this
module imports only pytest and :mod:`airbricks.testing` (no server, SDK or Airflow), does nothing without the
``airbricks[testing]`` extra, and a fixture used without it fails naming the extra. Disable it with
``-p no:airbricks``.

Airflow reads its configuration when first imported, so the isolated AIRFLOW_HOME is set in
``pytest_load_initial_conftests`` - before any conftest file or test module is imported (entry-point plugins
are loaded before that hook runs). It holds the metadata DB and is removed at the end of the session.

Fixtures (each a few lines over :mod:`airbricks.testing`): ``local_workspace`` (session),
``workspace_client`` (session), ``airflow_env`` (session), ``run_dag``, ``upload_notebooks``, ``land_file``,
``notebook_output``. Every test that uses the workspace is isolated: what it created (clusters, jobs, runs,
files) is removed after it, and a cluster it left running fails it, naming the cluster's id.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from airbricks.testing import missing_packages, require_testing_extra

#: ini name -> (help, type, default); each also a ``--airbricks-...`` command-line option.
OPTIONS: dict[str, tuple[str, Literal["string"], str]] = {
    "airbricks_cluster_start_seconds": ("seconds a local cluster spends PENDING", "string", "0.5"),
    "airbricks_cluster_stop_seconds": ("seconds a local cluster spends TERMINATING", "string", "0.2"),
    "airbricks_spark": (
        "on: real Spark behind clusters (airbricks[spark], Java 17+); off: plain Python",
        "string",
        "off",
    ),
    "airbricks_default_pool": (
        "with airbricks_spark = on: idle Spark drivers kept warm for clusters naming no instance pool, so a"
        " cluster starts without a JVM start (about 0.9 GB each; 0: off)",
        "string",
        "1",
    ),
    "airbricks_warm_kernels": (
        "with airbricks_spark = on: run processes kept started with pyspark's Connect client imported, one per"
        " notebook or Python run (0: off)",
        "string",
        "1",
    ),
    "airbricks_token": ("the workspace's token (default: a random one)", "string", ""),
    "airbricks_user": ("the user the workspace's token belongs to", "string", "airbricks@localhost"),
    "airbricks_cloud": ("the cloud the workspace looks like (aws, azure, gcp): its node types", "string", "aws"),
    "airbricks_data_dir": ("a fixed data dir, kept after the run to inspect (default: a temporary one)", "string", ""),
    "airbricks_dags_folder": ("the DAG folder run_dag('dag_id') parses (relative to the rootdir)", "string", ""),
    "airbricks_connection_ids": ("connection ids besides databricks_default pointing at the workspace", "string", ""),
    "airbricks_auto_create_volumes": (
        "on: a /Volumes/c/s/v/... path in a missing volume creates it; off: 404, as"
        " on Databricks (create volumes first: the create_volume fixture)",
        "string",
        "off",
    ),
    "airbricks_fixtures": (
        "a workspace fixtures file (YAML or JSON, relative to the rootdir): objects with the ids and names it"
        " gives, created when the session's workspace starts",
        "string",
        "",
    ),
    "airbricks_isolation": (
        "on: remove what each test created and fail a test that leaves a cluster running",
        "string",
        "on",
    ),
    "airbricks_airflow_home": (
        "isolated: a temporary AIRFLOW_HOME for the session; keep: leave AIRFLOW_HOME alone",
        "string",
        "isolated",
    ),
}
_ENV_KEY = pytest.StashKey["Any"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("airbricks", "airbricks local Databricks workspace")
    for name, (help_text, kind, default) in OPTIONS.items():
        parser.addini(name, help_text, type=kind, default=default)
        group.addoption("--" + name.replace("_", "-"), dest=name, default=None, help=help_text)


def setting(config: pytest.Config, name: str) -> str:
    """A plugin option: the command line wins over the ini file (``pytest.ini``, ``pyproject.toml``...)."""
    value = getattr(config.option, name, None)
    if value is None:
        value = getattr(getattr(config, "known_args_namespace", None), name, None)
    return str(value if value is not None else config.getini(name)).strip()


def _switch(config: pytest.Config, name: str) -> bool:
    value = setting(config, name).lower()
    if value not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
        raise pytest.UsageError(f"{name} = {value!r}: use on or off")
    return value in ("on", "true", "1", "yes")


def _seconds(config: pytest.Config, name: str) -> float:
    value = setting(config, name)
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise pytest.UsageError(f"{name} = {value!r}: use a number of seconds, 0 or more")
    return seconds


def _count(config: pytest.Config, name: str) -> int:
    value = setting(config, name)
    if not value.strip().isdigit():
        raise pytest.UsageError(f"{name} = {value!r}: use a whole number, 0 or more (0: off)")
    return int(value)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Set the isolated AIRFLOW_HOME before conftest files and test modules can import Airflow."""
    if missing_packages() or setting(early_config, "airbricks_airflow_home") == "keep":
        return
    from airbricks.testing.airflow_env import AirflowEnvironment

    fixed = setting(early_config, "airbricks_data_dir")
    home = Path(fixed) / "airflow" if fixed else Path(tempfile.mkdtemp(prefix="airbricks-airflow-"))
    dags = setting(early_config, "airbricks_dags_folder")
    dags_folder = Path(early_config.rootpath, dags) if dags else None
    early_config.stash[_ENV_KEY] = (AirflowEnvironment(home, dags_folder).activate(), not fixed)


def pytest_unconfigure(config: pytest.Config) -> None:
    env, temporary = config.stash.get(_ENV_KEY, (None, False))
    if env is not None:
        env.deactivate()
        if temporary:
            shutil.rmtree(env.home, ignore_errors=True)


@pytest.fixture(scope="session")
def local_workspace(pytestconfig: pytest.Config) -> Iterator[Any]:
    """The session's local workspace (``airbricks.testing.TestWorkspace``): ``url``, ``token``,
    ``connection_uri``, ``client()`` and the file helpers. Configured by the ``airbricks_*`` options."""
    require_testing_extra("the local_workspace fixture")
    from airbricks.testing.workspace import TestWorkspace

    fixed = setting(pytestconfig, "airbricks_data_dir")
    settings: dict[str, Any] = {
        "cluster_start_seconds": _seconds(pytestconfig, "airbricks_cluster_start_seconds"),
        "cluster_stop_seconds": _seconds(pytestconfig, "airbricks_cluster_stop_seconds"),
        "token": setting(pytestconfig, "airbricks_token") or None,
        "auto_create_volumes": _switch(pytestconfig, "airbricks_auto_create_volumes"),
        "user": setting(pytestconfig, "airbricks_user") or "airbricks@localhost",
        "cloud": setting(pytestconfig, "airbricks_cloud") or "aws",
    }
    fixtures = setting(pytestconfig, "airbricks_fixtures")
    if fixtures:
        settings["fixtures"] = Path(pytestconfig.rootpath, fixtures)
    spark = _switch(pytestconfig, "airbricks_spark")
    if spark:
        settings["spark_default_pool"] = _count(pytestconfig, "airbricks_default_pool")
        settings["warm_kernels"] = _count(pytestconfig, "airbricks_warm_kernels")
        from airbricks.workspace.compute.spark.install import SparkNotAvailable, find_spark

        try:
            find_spark()
        except SparkNotAvailable as missing:  # a clear failure, never a quiet fallback to plain Python
            pytest.fail(f"airbricks_spark = on, but Spark cannot run here: {missing}", pytrace=False)
    workspace = TestWorkspace(Path(fixed) / "workspace" if fixed else None, spark=spark, **settings)
    with workspace:
        env = pytestconfig.stash.get(_ENV_KEY, (None, False))[0]
        if env is not None:
            env.connect(workspace.connection_uri, setting(pytestconfig, "airbricks_connection_ids").split())
        yield workspace


@pytest.fixture(scope="session")
def workspace_client(local_workspace: Any) -> Any:
    """A ``databricks-sdk`` ``WorkspaceClient`` for the local workspace."""
    return local_workspace.client()


@pytest.fixture(scope="session")
def airflow_env(pytestconfig: pytest.Config, local_workspace: Any) -> Any:
    """The isolated Airflow (``airbricks.testing.airflow_env.AirflowEnvironment``): its AIRFLOW_HOME, the
    metadata DB migrated once per session, ``databricks_default`` and ``airbricks_connection_ids`` pointing at
    the local workspace."""
    env = pytestconfig.stash.get(_ENV_KEY, (None, False))[0]
    if env is None:
        raise pytest.UsageError("airflow_env needs the isolated AIRFLOW_HOME: airbricks_airflow_home = keep is set")
    env.migrate()
    return env


@pytest.fixture
def run_dag(airflow_env: Any) -> Callable[..., Any]:
    """``run_dag(dag_or_dag_id, conf=None, logical_date=None)``: one run with real Airflow (``dag.test()``);
    returns a ``DagRunResult`` (``state``, ``task_states``, ``xcom()``, ``log()``, ``assert_success()``)."""
    return airflow_env.run_dag


@pytest.fixture
def upload_notebooks(local_workspace: Any) -> Callable[[str | Path, str], list[str]]:
    """``upload_notebooks(local_folder, "/Workspace/Shared/x")``: import a folder of notebooks and files."""
    return local_workspace.upload_notebooks


@pytest.fixture
def land_file(local_workspace: Any) -> Callable[[str, bytes | str], str]:
    """``land_file("dbfs:/landing/x.csv" or "/Volumes/c/s/v/x.csv", content)``: write a file."""
    return local_workspace.land_file


@pytest.fixture
def create_volume(local_workspace: Any) -> Callable[..., str]:
    """``create_volume("main.default.landing")``: the volume (and its catalog and schema) exists; returns
    ``/Volumes/main/default/landing``. Volumes must exist before ``/Volumes/...`` paths work, as on Databricks."""
    return local_workspace.create_volume


@pytest.fixture
def notebook_output(local_workspace: Any) -> Callable[..., dict[str, Any]]:
    """``notebook_output(run_id, task_key=None)``: ``runs/get-output`` of a notebook task run."""
    return local_workspace.notebook_output


@pytest.fixture(autouse=True)
def _airbricks_isolation(request: pytest.FixtureRequest) -> Iterator[None]:
    """For tests that use the workspace: remove what the test created; fail it when it left a cluster running."""
    if "local_workspace" not in request.fixturenames or not _switch(request.config, "airbricks_isolation"):
        yield
        return
    workspace = request.getfixturevalue("local_workspace")
    before = workspace.snapshot()
    yield
    left_running = workspace.running_clusters(before)
    workspace.reset(before)
    if left_running:
        named = ", ".join(f"{c['cluster_id']} ({c.get('cluster_name')!r}, {c['state']})" for c in left_running)
        pytest.fail(
            f"the test left clusters running: {named}. Delete them in the test (or its DAG's teardown "
            "task); airbricks has now permanently deleted them.",
            pytrace=False,
        )


def pytest_report_header(config: pytest.Config) -> str | None:
    env = config.stash.get(_ENV_KEY, (None, False))[0]
    if env is None:
        return None
    return f"airbricks: isolated AIRFLOW_HOME={env.home}, dags folder {env.dags_folder}"
