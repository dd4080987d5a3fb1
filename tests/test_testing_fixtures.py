"""The plugin's fixtures in this session (the same ones tests/conftest.py builds on): the DAG runner's
result, the notebook and file helpers, the per-test reset, and the context manager for scripts."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from airbricks.testing.workspace import WorkspaceApiError

NOTEBOOK = "# Databricks notebook source\nprint('hi')\ndbutils.notebook.exit(dbutils.widgets.get('x'))\n"


def test_run_dag_passes_conf_and_logical_date_and_returns_states_xcoms_and_logs(run_dag):
    import logging

    from airflow.sdk import DAG, task

    with DAG(dag_id="kit_conf", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:

        @task
        def echo(**context):
            logging.getLogger("airflow.task").info("conf seen: %s", context["dag_run"].conf)
            return {"x": context["dag_run"].conf["x"], "ds": context["ds"]}

        @task
        def boom(value):
            raise RuntimeError(f"refusing {value['x']}")

        boom(echo())

    result = run_dag(dag, conf={"x": 7}, logical_date="2026-03-04")

    assert result.state == "failed"
    assert result.task_states == {"echo": "success", "boom": "failed"}
    assert result.xcom("echo") == {"x": 7, "ds": "2026-03-04"}
    assert "conf seen: {'x': 7}" in result.log("echo")
    assert "RuntimeError: refusing 7" in result.log("boom")  # the task runner's traceback, not just our logs
    assert result.get_task_instances()  # still the DagRun underneath
    with pytest.raises(AssertionError, match=r"(?s)boom \(failed\) log.*RuntimeError: refusing 7"):
        result.assert_success()
    with pytest.raises(KeyError, match="has no task 'nope'"):
        result.log("nope")


def test_a_dag_id_missing_from_the_dags_folder_says_what_the_folder_holds(run_dag, airflow_env):
    with pytest.raises(LookupError, match=rf"No DAG 'not_there' in {airflow_env.dags_folder}"):
        run_dag("not_there")


def test_notebooks_files_and_output_helpers(tmp_path, upload_notebooks, land_file, notebook_output, sdk, create_volume):
    from databricks.sdk.service import jobs

    (tmp_path / "nb.py").write_text(NOTEBOOK)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "settings.json").write_text("{}")
    assert upload_notebooks(tmp_path, "/Repos/team/project") == [
        "/Repos/team/project/conf/settings.json",
        "/Repos/team/project/nb",
    ]
    assert sdk.workspace.get_status("/Repos/team/project/nb").object_type.value == "NOTEBOOK"
    assert sdk.workspace.get_status("/Workspace/Repos/team/project/conf/settings.json").object_type.value == "FILE"

    land_file("dbfs:/kit/a.csv", "a\n1\n")
    with pytest.raises(WorkspaceApiError, match="Volume 'main.default.kit' does not exist"):
        land_file("/Volumes/main/default/kit/b.bin", b"x")  # volumes exist only once created, as on Databricks
    assert create_volume("main.default.kit") == "/Volumes/main/default/kit"
    land_file("/Volumes/main/default/kit/b.bin", bytes(range(256)) * 5000)  # more than one add-block
    assert sdk.dbfs.get_status("/kit/a.csv").file_size == 4
    assert sdk.files.get_metadata("/Volumes/main/default/kit/b.bin").content_length == 256 * 5000

    run = sdk.jobs.submit_and_wait(
        run_name="kit",
        tasks=[
            jobs.SubmitTask(
                task_key="only",
                notebook_task=jobs.NotebookTask(notebook_path="/Repos/team/project/nb", base_parameters={"x": "42"}),
                new_cluster=jobs.compute.ClusterSpec(
                    spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=0
                ),
            )
        ],
    )
    assert notebook_output(run.run_id)["notebook_output"]["result"] == "42"
    assert notebook_output(run.tasks[0].run_id)["notebook_output"]["result"] == "42"


def test_reset_removes_what_came_after_the_snapshot_and_keeps_the_rest(local_workspace, sdk):
    sdk.dbfs.mkdirs("/kept")
    local_workspace.create_volume("main.default.kept")
    local_workspace.land_file("/Volumes/main/default/kept/old.txt", "old")
    before = local_workspace.snapshot()
    local_workspace.land_file("dbfs:/kept/new/deep/x.txt", "x")
    local_workspace.land_file("/Volumes/main/default/kept/new/y.txt", "y")
    local_workspace.create_volume("other.default.fresh")
    local_workspace.land_file("/Volumes/other/default/fresh/z.txt", "z")
    sdk.workspace.mkdirs("/Shared/kit-new/sub")
    cluster_id = sdk.clusters.create(
        cluster_name="kit", spark_version="15.4.x-scala2.12", node_type_id="i3.xlarge", num_workers=0
    ).response.cluster_id

    assert [c["cluster_id"] for c in local_workspace.running_clusters(before)] == [cluster_id]
    local_workspace.reset(before)

    assert local_workspace.snapshot() == before
    assert [f.path for f in sdk.dbfs.list("/kept")] == []
    assert [e.path for e in sdk.files.list_directory_contents("/Volumes/main/default/kept")] == [
        "/Volumes/main/default/kept/old.txt"
    ]
    assert cluster_id not in {c.cluster_id for c in sdk.clusters.list()}
    assert "other" not in {c.name for c in sdk.catalogs.list()}  # the catalog the test created went too


def test_local_workspace_context_manager_owns_a_temporary_data_dir():
    from airbricks.testing import local_workspace

    with local_workspace() as ws:
        data_dir = Path(ws.data_dir)
        assert ws.client().clusters.list_node_types().node_types
        assert data_dir.is_dir()
    assert not data_dir.exists() and not data_dir.parent.exists()


def test_a_fixed_data_dir_is_kept(tmp_path):
    from airbricks.testing import local_workspace

    with local_workspace(tmp_path / "ws", token="dapi-fixed") as ws:
        ws.land_file("dbfs:/x.txt", "kept")
        assert ws.token == "dapi-fixed"
    assert (tmp_path / "ws" / "state.db").exists()


def test_xcom_gives_back_exactly_what_the_task_returned(run_dag):
    from airflow.sdk import DAG, task

    with DAG(dag_id="kit_xcom", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:

        @task
        def json_text():
            return '{"a": 1}'

        @task
        def seen(value):
            return type(value).__name__

        seen(json_text())

    result = run_dag(dag).assert_success()
    assert result.xcom("seen") == "str"
    assert result.xcom("json_text") == '{"a": 1}'
