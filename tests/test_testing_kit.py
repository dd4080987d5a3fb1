"""The testing kit as a user meets it: each case is its own pytest process, as in a user's CI.

* the example user project (examples/my_pipeline) passes;
* a user's test against a notebook that raises is reported failed, with the notebook's error in the output;
  a test that leaves a cluster running fails naming the cluster's id; the test after them sees neither;
  options from the ini file and the command line reach the workspace and Airflow, and its fixtures file (ids
  and all) is in the workspace;
* where the airbricks[testing] extra is missing, the plugin still loads (cheaply, touching nothing) and a
  fixture used there fails naming the extra.

Spark is off in all of them: the notebooks are plain Python (the Spark engine has its own tests).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "my_pipeline"


def run_pytest(cwd: Path, *args: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    """``python -m pytest`` in ``cwd`` with none of this session's Airflow or pytest environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTEST_"))}
    command = (
        [sys.executable, "-c", f"{prelude}import sys, pytest; sys.exit(pytest.main(sys.argv[1:]))"]
        if prelude
        else [sys.executable, "-m", "pytest"]
    )
    return subprocess.run(
        [*command, "-p", "no:cacheprovider", "-rA", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def outcomes(report: Path) -> dict[str, tuple[str, str]]:
    """``{test name: (passed|failed|error, message)}`` from a JUnit XML report."""
    found = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for kind in ("failure", "error"):
            element = case.find(kind)
            if element is not None:
                outcome, message = kind.replace("failure", "failed"), f"{element.get('message')}\n{element.text}"
        found[case.get("name")] = (outcome, message)
    return found


@pytest.mark.timeout(900)
def test_the_example_project_passes_in_its_own_pytest_process(tmp_path: Path) -> None:
    done = run_pytest(EXAMPLE, f"--junitxml={tmp_path / 'report.xml'}")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert {name: outcome for name, (outcome, _) in outcomes(tmp_path / "report.xml").items()} == {
        "test_summarizes_the_landed_file": "passed",
        "test_a_negative_amount_fails_the_notebook_and_the_cluster_is_still_deleted": "passed",
        "test_each_test_starts_from_an_empty_workspace": "passed",
    }


USER_TESTS = """
import os
from pathlib import Path

NOTEBOOKS = Path(__file__).parent / "notebooks"


def test_pipeline_on_bad_data(run_dag, land_file, upload_notebooks):
    upload_notebooks(NOTEBOOKS, "/Workspace/Shared/my_pipeline")
    land_file("dbfs:/landing/2026-01-07/sales.csv", "id,amount\\n1,-3\\n")
    run_dag("my_pipeline", logical_date="2026-01-07").assert_success()


def test_leaves_a_cluster_running(workspace_client):
    cluster = workspace_client.clusters.create(cluster_name="forgotten", spark_version="15.4.x-scala2.12",
                                               node_type_id="i3.xlarge", num_workers=0).response
    Path(os.environ["LEAKED_ID_FILE"]).write_text(cluster.cluster_id)


def test_after_them_the_workspace_is_empty(workspace_client):
    assert list(workspace_client.clusters.list()) == []
    assert list(workspace_client.jobs.list_runs()) == []


def test_options_from_the_ini_file_and_the_command_line(local_workspace, airflow_env):
    data_dir = Path(os.environ["EXPECTED_DATA_DIR"])
    assert Path(os.environ["AIRFLOW_HOME"]) == data_dir / "airflow" == airflow_env.home
    assert local_workspace.data_dir == data_dir / "workspace"
    assert local_workspace.token == "dapi-from-the-command-line"
    assert os.environ["AIRFLOW_CONN_OTHER_WS"] == local_workspace.connection_uri
    assert airflow_env.connection_ids == ["databricks_default", "other_ws"]


def test_the_fixtures_file_of_the_ini_file(workspace_client):
    job = workspace_client.jobs.get(987654321012)
    assert job.settings.name == "from-fixtures"
    assert workspace_client.jobs.create(name="minted", tasks=job.settings.tasks).job_id > 987654321012
"""

FIXTURES = """
jobs:
  - job_id: 987654321012
    name: from-fixtures
    tasks:
      - task_key: t
        notebook_task: {notebook_path: /Shared/x}
        new_cluster: {spark_version: 15.4.x-scala2.12, node_type_id: i3.xlarge, num_workers: 0}
"""


@pytest.mark.timeout(900)
def test_a_raising_notebook_and_a_leaked_cluster_fail_the_users_tests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE / "dags", project / "dags")
    shutil.copytree(EXAMPLE / "notebooks", project / "notebooks")
    (project / "pytest.ini").write_text(
        (EXAMPLE / "pytest.ini").read_text()
        + "airbricks_connection_ids = other_ws\nairbricks_fixtures = fixtures.yaml\n"
    )
    (project / "fixtures.yaml").write_text(FIXTURES)
    (project / "test_user.py").write_text(USER_TESTS)
    leaked_file = tmp_path / "leaked-cluster-id"
    monkeypatch.setenv("LEAKED_ID_FILE", str(leaked_file))
    monkeypatch.setenv("EXPECTED_DATA_DIR", str(tmp_path / "kept"))

    done = run_pytest(
        project,
        "test_user.py",
        f"--junitxml={tmp_path / 'report.xml'}",
        "--airbricks-data-dir",
        str(tmp_path / "kept"),
        "--airbricks-token=dapi-from-the-command-line",
    )
    found = outcomes(tmp_path / "report.xml")

    assert done.returncode == 1, done.stdout[-6000:]
    assert "FAILED test_user.py::test_pipeline_on_bad_data" in done.stdout
    outcome, message = found["test_pipeline_on_bad_data"]
    assert outcome == "failed"
    assert "ValueError: negative amount in row 1: -3" in message  # the notebook's own error, in the report
    assert "summarize (failed)" in message
    leaked = leaked_file.read_text()
    assert found["test_leaves_a_cluster_running"][0] == "error"  # at teardown: the test body itself passed
    assert f"the test left clusters running: {leaked}" in found["test_leaves_a_cluster_running"][1]
    assert leaked in done.stdout
    assert found["test_after_them_the_workspace_is_empty"] == ("passed", "")
    assert found["test_options_from_the_ini_file_and_the_command_line"] == ("passed", "")
    assert found["test_the_fixtures_file_of_the_ini_file"] == ("passed", "")
    assert (tmp_path / "kept" / "workspace" / "state.db").exists()  # a fixed data dir outlives the session
    assert (tmp_path / "kept" / "airflow" / "airflow.db").exists()


PLUGIN_CHECKS = """
import os
import sys


def test_the_plugin_loaded_without_importing_anything_heavy(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("airbricks")
    assert [m for m in ("airflow", "uvicorn", "databricks.sdk", "airbricks.workspace") if m in sys.modules] == []
    assert os.environ["AIRFLOW_HOME"] == os.environ["EXPECTED_AIRFLOW_HOME"]  # left alone without the extra


def test_a_fixture_needs_the_extra(local_workspace):
    pass
"""


def test_without_the_testing_extra_the_plugin_loads_and_its_fixtures_name_the_extra(
    tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_plugin.py").write_text(PLUGIN_CHECKS)
    monkeypatch.setenv("EXPECTED_AIRFLOW_HOME", str(tmp_path / "users-own-airflow"))
    # fastapi hidden (None in sys.modules: find_spec answers None, import fails): the base install's view.
    done = run_pytest(
        tmp_path,
        "test_plugin.py",
        f"--junitxml={tmp_path / 'report.xml'}",
        prelude=f"import os; os.environ['AIRFLOW_HOME'] = {str(tmp_path / 'users-own-airflow')!r}; "
        "import sys; sys.modules['fastapi'] = None; ",
    )
    found = outcomes(tmp_path / "report.xml")

    assert found["test_the_plugin_loaded_without_importing_anything_heavy"] == ("passed", ""), done.stdout
    outcome, message = found["test_a_fixture_needs_the_extra"]
    assert outcome == "error"
    assert "pip install 'airbricks[testing]'" in message and "fastapi not installed" in message
